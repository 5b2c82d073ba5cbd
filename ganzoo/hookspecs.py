"""The hooks a ganzoo plugin may implement.

Every hook receives a ``register`` callback and calls it once per thing it adds, so one
plugin can add many models, losses or datasets. Hooks are called with keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "ganzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_models(register: Callable) -> None:
    """Add GAN variants: call ``register(ModelSpec(...))`` for each."""


@hookspec
def register_losses(register: Callable) -> None:
    """Add adversarial losses usable through ``--loss``: call ``register(LossSpec(...))``."""


@hookspec
def register_datasets(register: Callable) -> None:
    """Add datasets usable through ``--dataset``: call ``register(DatasetSpec(...))``."""


@hookspec
def register_metrics(register: Callable) -> None:
    """Add scores for ``ganzoo eval`` and ``--eval-every``: call ``register(MetricSpec(...))``."""


@hookspec
def register_executors(register: Callable) -> None:
    """Add places ``ganzoo bench`` can run suites: call ``register(ExecutorSpec(...))``."""


@hookspec
def register_extensions(register: Callable) -> None:
    """Add training extensions the shared driver applies to any variant (augmentation, regularisers,
    weight averaging): call ``register(ExtensionSpec(...))``; users turn one on with ``--extension NAME[:ARGS]``."""

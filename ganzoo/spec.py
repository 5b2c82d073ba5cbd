"""The specs a plugin registers: a variant (:class:`ModelSpec`), a dataset (:class:`DatasetSpec`), a
bench executor (:class:`ExecutorSpec`) and a training extension (:class:`ExtensionSpec`).

The network contracts (Generator, Discriminator) live in :mod:`ganzoo.nets.base`, the loss contract
in :mod:`ganzoo.losses`, the training state, objectives and extensions in :mod:`ganzoo.driver`; a ModelSpec ties
them to a training step. Plugins import all of them from :mod:`ganzoo.plugin`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.config import Option, RunConfig, as_option
from ganzoo.data.base import MODALITIES, DataInfo, DataRequest, LoadedData
from ganzoo.driver.kstep import LOSS_OBJECTIVE, Objective, k_step
from ganzoo.driver.state import TrainingExtension, TrainState
from ganzoo.nets.base import Discriminator, Generator


@dataclass(frozen=True)
class BuildContext:
    """Everything a builder of a network receives: the data facts and the run's configuration.

    ``ctx["g_width"]`` reads the model section first, then any option declared in one section only.
    """

    data: DataInfo
    config: RunConfig | Mapping[str, Any]
    """The run's config; a plain mapping of hyper-parameters also serves (building networks in tests)."""

    def __getitem__(self, key: str) -> Any:
        if isinstance(self.config, RunConfig) and key in self.config.model:
            return self.config.model[key]
        return self.config[key]


@dataclass(frozen=True)
class Phase:
    """A stretch of training with its own step function (e.g. SeqGAN's MLE pre-training)."""

    name: str
    steps: int
    step: Callable[[TrainState], Mapping[str, Tensor]]


StepFn = Callable[["TrainState"], Mapping[str, Tensor]]


@dataclass(frozen=True)
class ModelSpec:
    """A variant as a plugin registers it.

    ``options`` declares the variant's hyper-parameters (the ``model`` section of a run's
    config): each an :class:`~ganzoo.config.Option`, or a bare default as shorthand.
    ``overrides`` changes defaults of trainer, data and eval options (``steps``, ``lr_g``,
    ``dataset``, ``image_size``, ...; bare names or ``section.name``).

    Training, from the least to the most a variant takes over:
    - nothing: the shared k-step driver with the run's ``--loss`` (Algorithm 1 of Goodfellow et al. 2014);
    - ``objective``: the driver's loop with this variant's D and G losses (AC-GAN, WGAN-GP);
    - ``train_step``: the whole step (a model without a discriminator, or one that is not k-step);
    - ``phases``: a schedule of several steps (SeqGAN's pre-training, then adversarial rounds).
    """

    name: str
    description: str
    paper: str
    modality: str | tuple[str, ...]
    """The data it trains on: one of MODALITIES, or a tuple of them (the first is the default)."""
    build_generator: Callable[[BuildContext], Generator]
    build_discriminator: Callable[[BuildContext], Discriminator] | None = None
    """None: a model without a discriminator (a VAE, an autoregressive model); then no D options exist."""
    options: Mapping[str, Option | Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    objective: Objective | None = None
    train_step: StepFn | None = None
    phases: Callable[[RunConfig], list[Phase]] | None = None
    build_optimizers: Callable[[TrainState], dict[str, torch.optim.Optimizer]] | None = None
    """Optional; the default is Adam for 'generator' (and 'discriminator') from lr_g / lr_d / betas."""
    build_schedulers: Callable[[TrainState], dict[str, torch.optim.lr_scheduler.LRScheduler]] | None = None
    """Optional learning-rate schedulers by name; the trainer steps each once per training step."""
    build_extras: Callable[[BuildContext, Generator, Discriminator | None], dict[str, nn.Module]] | None = None
    """Optional further named networks (a second generator, a rollout policy), trained and checkpointed."""
    conditional: bool = False
    """True when G and D need class labels: the dataset must then be labelled."""
    auto_bf16: bool = False
    """True when ``precision auto`` should pick bf16 autocast on CPUs with bf16 units although the model has no
    channels_last image layout: its autocast regions are large matrix products that gain from it (SeqGAN's D
    scoring rollouts). Convolutional image models get bf16 under ``auto`` without it."""

    def __post_init__(self) -> None:
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if unknown or not self.modalities:
            raise ValueError(f"model {self.name!r}: modality must be among {MODALITIES}, got {self.modality!r}")
        if self.build_discriminator is None and self.train_step is None and self.phases is None:
            raise ValueError(f"model {self.name!r} has no discriminator, so it must give its own train_step or phases")
        if self.objective is not None and (self.train_step is not None or self.phases is not None):
            raise ValueError(f"model {self.name!r}: an objective runs on the shared driver; drop train_step/phases")
        for name in self.options:
            as_option(self.options[name])  # a malformed declaration fails at registration, not at training

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities this variant supports, the default first."""
        return (self.modality,) if isinstance(self.modality, str) else tuple(self.modality)

    @property
    def has_discriminator(self) -> bool:
        return self.build_discriminator is not None

    def default_options(self) -> dict[str, Any]:
        """The declared default of each hyper-parameter (the model section before any override)."""
        return {name: as_option(value).default for name, value in self.options.items()}

    def schedule(self, config: RunConfig) -> list[Phase]:
        """The phases a run trains through: the variant's own, its own step, or the shared driver with its objective."""
        if self.phases is not None:
            return list(self.phases(config))
        if self.train_step is not None:
            return [Phase("adversarial" if self.has_discriminator else "train", int(config["steps"]), self.train_step)]
        return [Phase("adversarial", int(config["steps"]),
                      functools.partial(k_step, objective=self.objective or LOSS_OBJECTIVE))]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as a plugin registers it.

    ``options`` declares the dataset's own options (the ``data`` section, beside the common
    ``dataset``, ``split``, ``image_size``, ...). ``reads_files``: the dataset takes
    ``data_root`` and ``download``; for one that does not, passing them is an error.
    """

    name: str
    description: str
    modality: str
    load: Callable[[DataRequest], LoadedData]
    labelled: bool = False
    source: str = ""
    """Where the data comes from (for ``ganzoo info``)."""
    options: Mapping[str, Option | Any] = field(default_factory=dict)
    reads_files: bool = False
    heldout_split: str | None = "test"
    """The split with other examples than the training split's, or None when every split is the same
    examples (a folder): ``fit-extractor`` then holds out part of the training split instead."""
    score_view: Callable[[Tensor, DataInfo], Tensor] | None = None
    """For a dataset that can serve its images at their native resolution (``digits`` with ``data.native``): maps
    such images to those of its default view (a DataInfo), for image scores. Runs whose data declares
    ``extras["score_as"]`` (the data options of that view) are scored through it, beside the GANs of that view."""


@dataclass(frozen=True)
class ExecutorSpec:
    """Where the runs of a bench suite execute (local processes, a Ray cluster, SLURM jobs, ...).

    ``run(tasks, ctx)`` receives the runs still to do (``BenchTask``) and an ``ExecutorContext``
    (the bench directory, these options typed and defaulted, ``--jobs``, a stop event), runs each
    task's ``run_bench_task(task.payload(threads))`` in a process of its own wherever it chooses,
    and yields ``(run_id, collect_outcome(ctx, run_id, ...))`` as runs end; the bench driver alone
    writes rows to results.jsonl. A user mistake (an unreachable cluster, resources it can never
    grant) raises ConfigError before anything is submitted. See ganzoo/benchmarking/execution.py.
    """

    name: str
    description: str
    run: Callable[..., Any]
    options: Mapping[str, Option | Any] = field(default_factory=dict)


EXTENSION_KINDS = ("average", "augment", "reg", "other")


@dataclass(frozen=True)
class ExtensionSpec:
    """A training extension the shared driver applies to any variant it suits.

    ``build(args, config)`` returns a fresh :class:`~ganzoo.driver.state.TrainingExtension` for one run:
    ``args`` is what follows ``NAME:`` where it was asked for (``--extension NAME:ARGS``; ``""`` when
    nothing follows) and ``config`` the run's RunConfig; a bad argument raises ConfigError with one
    line. ``kind`` says which trainer option selects it: ``augment`` (``--augment``), ``reg``
    (``--reg``), ``average`` (``--ema``) or ``other`` (``--extension``). ``modalities`` (empty: any)
    and ``needs_discriminator`` say which models it can be applied to.
    """

    name: str
    description: str
    build: Callable[[str, RunConfig], TrainingExtension]
    kind: str = "other"
    usage: str = ""
    """How it is asked for, for ``ganzoo info`` (e.g. ``r1:GAMMA[:EVERY]``)."""
    modalities: tuple[str, ...] = ("image",)
    needs_discriminator: bool = True

    def __post_init__(self) -> None:
        if self.kind not in EXTENSION_KINDS:
            raise ValueError(f"extension {self.name!r}: kind must be one of {', '.join(EXTENSION_KINDS)}")


def spec_summary(spec: ModelSpec) -> dict[str, Any]:
    """A JSON-ready description of a model spec (for ``ganzoo info``)."""
    return {
        "name": spec.name,
        "description": spec.description,
        "paper": spec.paper,
        "modality": list(spec.modalities),
        "conditional": spec.conditional,
        "discriminator": spec.has_discriminator,
        "training": ("phases" if spec.phases else "own step" if spec.train_step
                     else "shared driver, own objective" if spec.objective else "shared driver"),
    }

"""Training a variant end to end: the trainer loop with the installed plugins and scoring while it trains.

The trainer knows no metrics; this is where the two meet, so the API and the bench workers
train the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganzoo.driver.state import TrainingExtension
from ganzoo.evaluation import training_evaluation
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.trainer import loop
from ganzoo.trainer.loop import RunResult


def train(model: str | None = None, *, out: str | Path | None = None, resume: str | Path | None = None,
          overwrite: bool = False, progress: bool | None = None, extensions: Sequence[TrainingExtension | str] = (),
          registry: Registry | None = None, **options: Any) -> RunResult:
    """Train a registered variant (or continue a run with ``resume=RUN_DIR``); scores it every
    ``eval_every`` steps when that option is set.

    ``options`` are config keys: bare names (``steps``, ``g_width``, ``dataset``) where one
    section declares them, else ``section.name`` (pass those as ``**{"model.channels": 1}``).
    ``extensions`` are training extensions the shared driver applies: registered ones by name
    (``"vflip:0.3"``, stored in the run's config like ``ema``, ``augment`` and ``reg``) or instances
    (not stored: pass them again to resume); ``registry`` replaces the installed plugins' (tests, embedding).
    """
    named = [e for e in extensions if isinstance(e, str)]
    if named:
        options = {**options, "trainer.extensions": named}
    instances = [e for e in extensions if not isinstance(e, str)]
    return loop.train(model, registry=registry if registry is not None else get_registry(), out=out, resume=resume,
                      overwrite=overwrite, progress=progress, evaluation=training_evaluation, extensions=instances,
                      **options)

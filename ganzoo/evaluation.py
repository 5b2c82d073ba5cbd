"""Evaluating a saved run (``ganzoo eval``) or a run in training (``eval_every``), under an EvalProtocol.

The metrics know nothing of runs or plugins; this is where a run, the installed metrics and a protocol meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.config import RunConfig
from ganzoo.data.base import DataInfo
from ganzoo.device import resolve_device
from ganzoo.metrics.base import EvalContext, EvalReport, choose_metrics, evaluate
from ganzoo.metrics.protocol import EvalProtocol
from ganzoo.metrics.view import score_view
from ganzoo.nets.base import Generator, check_temperature
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.sampling import load_run
from ganzoo.storage.checkpoint import atomic_write_bytes
from ganzoo.storage.rundir import RunDir


def evaluate_run(path: str | Path, protocol: EvalProtocol | None = None, device: str = "cpu", *,
                 progress: bool | None = False, cache_dir: str | None = None, weights: str = "auto",
                 temperature: float = 1.0) -> EvalReport:
    """Score the generator of a run directory or checkpoint.

    ``progress``: progress bars (True, False, or None for 'on a terminal'); ``cache_dir``: where
    reference features are cached (default: ganzoo's cache); ``weights``: auto (the EMA weights
    where the run kept them), raw or ema; ``temperature``: the softmax temperature a model that samples
    tokens is scored at (other models take only 1). The report records the weights and temperature it scored.
    """
    temperature = check_temperature(temperature)
    protocol = protocol or EvalProtocol()
    registry = get_registry()
    loaded = load_run(path, device, weights=weights)
    ctx = scoring_context(registry, loaded.generator, loaded.config, loaded.data_info, protocol, resolve_device(device),
                          run_dir=loaded.run_dir, progress=progress, cache_dir=cache_dir, temperature=temperature)
    specs = [registry.metric(name) for name in ctx.requested]
    report = evaluate(ctx, specs, step=loaded.step)
    report.weights = loaded.weights
    return report


def scoring_context(registry: Registry, generator: Generator, config: RunConfig, info: DataInfo, protocol: EvalProtocol,
                    device: torch.device, *, run_dir: Path | None, progress: bool | None,
                    cache_dir: str | None = None, temperature: float = 1.0) -> EvalContext:
    """The context a run is scored in, with the protocol's metrics (checked against the model and data), sampling
    at ``temperature`` (which :func:`~ganzoo.metrics.base.evaluate` checks against the model).

    On native-resolution data (digits' ``data.native``) image scores see the run through the dataset's
    default view, and the run's own generator and data stay at hand for likelihood scores (``ctx.native``).
    """
    specs = choose_metrics(registry, info, protocol.metrics, generator.num_classes > 0, generator.likelihood)

    def context(generator: Generator, config: RunConfig, info: DataInfo, native: EvalContext | None = None) -> EvalContext:
        return EvalContext(
            generator=generator, config=config, data_info=info, run_dir=run_dir, requested=[s.name for s in specs],
            num_samples=protocol.num_samples, batch_size=protocol.batch_size, seed=protocol.seed, device=device,
            options={**protocol.context_options(), "progress": progress, "cache_dir": cache_dir}, registry=registry,
            native=native, temperature=temperature,
        )

    own = context(generator, config, info)
    view = score_view(registry, generator, config, info)
    return own if view is None else context(*view, native=own)


class TrainingEvaluation:
    """Scores a run every N steps while it trains; keeps the best checkpoint by a key score.

    The trainer calls it (it knows no metrics): :meth:`due` after each step, then the
    evaluation itself, which returns the record to log.
    """

    BEST = "best.safetensors"

    def __init__(self, config: RunConfig, run: RunDir) -> None:
        self.every = int(config["eval_every"])
        self.protocol = EvalProtocol.for_training(config)
        self.best: float | None = None
        self.best_key: str | None = None
        self.recall(run)

    def due(self, step: int, last: bool) -> bool:
        return last or step % self.every == 0

    def __call__(self, state: Any, run: RunDir, checkpoint: Path) -> dict[str, Any]:
        """Evaluate the in-memory generator of a TrainState (in fp32 whatever the run's precision, like `ganzoo eval`)."""
        registry = get_registry()
        weights, generator = state.sampling_choice()
        ctx = scoring_context(registry, generator, state.config, state.data.info, self.protocol, state.device,
                              run_dir=run.path, progress=False)
        specs = [registry.metric(name) for name in ctx.requested]
        report = evaluate(ctx, specs, step=state.step)
        report.weights = weights
        self.keep_if_best(report, checkpoint, run)
        return report.to_json()

    def recall(self, run: RunDir) -> None:
        """Take up the best score of the evaluations already in the run's log (a resumed run), so the
        first evaluation after a resume does not replace a better best.safetensors."""
        for record in run.read_metrics():
            if "eval" in record:
                self._improves(record["eval"], record.get("better", {}))

    def _improves(self, scores: Mapping[str, float], better: Mapping[str, str]) -> bool:
        """Whether the key score (FID if any, else the first) beats the best so far; if so it becomes the best."""
        key = next((k for k in ("fid", *scores) if k in scores), None)
        if key is None:
            return False
        value, higher = scores[key], better.get(key) == "higher"
        if self.best is not None and not (value > self.best if higher else value < self.best):
            return False
        self.best, self.best_key = value, key
        return True

    def keep_if_best(self, report: EvalReport, checkpoint: Path, run: RunDir) -> bool:
        """Copy ``checkpoint`` to checkpoints/best.safetensors when the key score (FID if any) improved."""
        if not self._improves(report.scores, report.better):
            return False
        atomic_write_bytes(run.checkpoint_dir / self.BEST, Path(checkpoint).read_bytes())
        return True


def training_evaluation(config: RunConfig, run: RunDir) -> TrainingEvaluation | None:
    """The trainer's evaluation of a run: scored every ``eval_every`` steps, or None when that is 0."""
    return TrainingEvaluation(config, run) if int(config.get("eval_every") or 0) > 0 else None

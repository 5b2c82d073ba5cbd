"""Evaluating a saved run (``ganzoo eval``) or a run in training (``--eval-every``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.metrics.base import DEFAULT_NUM_SAMPLES, EvalContext, EvalReport, choose_metrics, evaluate
from ganzoo.plugins import get_registry
from ganzoo.sampling import load_run
from ganzoo.trainer.checkpoint import atomic_write_bytes
from ganzoo.trainer.setup import resolve_device


@dataclass
class EvalOptions:
    """How to score: which metrics, how many samples, which extractor and reference."""

    metrics: list[str] | None = None
    num_samples: int = DEFAULT_NUM_SAMPLES
    batch_size: int = 250
    seed: int = 0
    feature_extractor: str = "auto"
    inception_weights: str | None = None
    reference_split: str | None = None
    num_real: int | None = None
    """Cap on reference images (a fixed random subset); None: the whole split."""
    cache_dir: str | None = None
    progress: bool | None = False
    """Progress bars: True, False, or None for 'on a terminal'."""
    extra: dict[str, Any] = field(default_factory=dict)

    def context_options(self) -> dict[str, Any]:
        return {
            "feature_extractor": self.feature_extractor,
            "inception_weights": self.inception_weights,
            "reference_split": self.reference_split,
            "num_real": self.num_real,
            "cache_dir": self.cache_dir,
            "progress": self.progress,
            **self.extra,
        }


def parse_metric_names(text: str | Iterable[str] | None) -> list[str] | None:
    """'fid,isc' -> ['fid', 'isc']; empty -> None (the defaults)."""
    if text is None:
        return None
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in names if n.strip()]
    return names or None


def evaluate_run(path: str | Path, options: EvalOptions | None = None, device: str = "cpu") -> EvalReport:
    """Score the generator of a run directory or checkpoint."""
    options = options or EvalOptions()
    registry = get_registry()
    loaded = load_run(path, device)
    specs = choose_metrics(registry, loaded.data_info, options.metrics, loaded.generator.num_classes > 0)
    ctx = EvalContext(
        generator=loaded.generator,
        config=loaded.config,
        data_info=loaded.data_info,
        run_dir=loaded.run_dir,
        requested=[s.name for s in specs],
        num_samples=options.num_samples,
        batch_size=options.batch_size,
        seed=options.seed,
        device=resolve_device(device),
        options=options.context_options(),
    )
    return evaluate(ctx, specs, step=loaded.step)


class TrainingEvaluator:
    """Scores a run every N steps while it trains; keeps the best checkpoint by a key score."""

    BEST = "best.safetensors"

    def __init__(self, config: Mapping[str, Any], every: int) -> None:
        self.every = every
        self.options = EvalOptions(
            metrics=parse_metric_names(config.get("eval_metrics")),
            num_samples=int(config["eval_samples"]),
            feature_extractor=str(config.get("feature_extractor") or "auto"),
            seed=int(config["seed"]),
        )
        self.best: float | None = None
        self.best_key: str | None = None

    def due(self, step: int, last: bool) -> bool:
        return last or step % self.every == 0

    def run(self, state, run_dir) -> EvalReport:
        """Evaluate the in-memory generator of a TrainState."""
        registry = get_registry()
        info = state.data.info
        specs = choose_metrics(registry, info, self.options.metrics, state.generator.num_classes > 0)
        ctx = EvalContext(
            generator=state.generator,
            config=state.config,
            data_info=info,
            run_dir=run_dir.path,
            requested=[s.name for s in specs],
            num_samples=self.options.num_samples,
            batch_size=self.options.batch_size,
            seed=self.options.seed,
            device=state.device,
            options=self.options.context_options(),
        )
        return evaluate(ctx, specs, step=state.step)  # in fp32 whatever the run's precision, like `ganzoo eval`

    def recall(self, run_dir) -> None:
        """Take up the best score of the evaluations already in the run's log (a resumed run), so the
        first evaluation after a resume does not replace a better best.safetensors."""
        for record in run_dir.read_metrics():
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

    def keep_if_best(self, report: EvalReport, checkpoint: Path, run_dir) -> bool:
        """Copy ``checkpoint`` to checkpoints/best.safetensors when the key score (FID if any) improved."""
        if not self._improves(report.scores, report.better):
            return False
        atomic_write_bytes(run_dir.checkpoint_dir / self.BEST, Path(checkpoint).read_bytes())
        return True

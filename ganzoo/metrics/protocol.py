"""How a run is scored: one EvalProtocol for ``ganzoo eval``, ``eval_every`` and bench suites alike.

The protocol says what decides a score's value (metrics, sample counts, extractor, reference);
two scores compare only when their protocols match. How an evaluation runs (progress bars, the
cache folder) is not part of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from ganzoo.errors import ConfigError

DEFAULT_NUM_SAMPLES = 10_000


def parse_metric_names(text: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """'fid,isc' -> ('fid', 'isc'); empty -> None (the defaults)."""
    if text is None:
        return None
    names = text.split(",") if isinstance(text, str) else list(text)
    names = [n.strip() for n in names if n.strip()]
    return tuple(names) or None


@dataclass(frozen=True)
class EvalProtocol:
    """Which metrics, how many samples, which extractor and which reference."""

    metrics: tuple[str, ...] | None = None
    """Metric names; None: every default metric for the data."""
    num_samples: int = DEFAULT_NUM_SAMPLES
    batch_size: int = 250
    seed: int = 0
    feature_extractor: str = "auto"
    inception_weights: str | None = None
    reference_split: str | None = None
    num_real: int | None = None
    """Cap on reference images (a fixed random subset); None: the whole split."""
    parzen_bandwidth: float | None = None
    """A fixed bandwidth for the Parzen estimate (pixels in [0, 1]); None: chosen on validation images."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", parse_metric_names(self.metrics))
        check_bandwidth(self.parzen_bandwidth)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["metrics"] = list(self.metrics) if self.metrics is not None else None
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalProtocol:
        return cls(**data)

    @classmethod
    def for_training(cls, config: Mapping[str, Any]) -> EvalProtocol:
        """The protocol of ``eval_every`` scores: the run's ``eval`` section and seed."""
        return cls(metrics=config.get("eval_metrics") or None, num_samples=int(config["eval_samples"]),
                   feature_extractor=str(config.get("feature_extractor") or "auto"), seed=int(config["seed"]))

    def with_changes(self, **changes: Any) -> EvalProtocol:
        return replace(self, **changes)

    def context_options(self) -> dict[str, Any]:
        """What metrics read from ``EvalContext.options``."""
        return {"feature_extractor": self.feature_extractor, "inception_weights": self.inception_weights,
                "reference_split": self.reference_split, "num_real": self.num_real,
                "parzen_bandwidth": self.parzen_bandwidth}


def check_bandwidth(value: float | None) -> None:
    """A fixed Parzen bandwidth must be a positive number (None: chosen on the validation images)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value) or value <= 0):
        raise ConfigError(f"the Parzen bandwidth must be a positive number (pixel values in [0, 1]), got {value!r}")

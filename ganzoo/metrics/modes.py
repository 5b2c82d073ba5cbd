"""Mode-collapse scores for 2-D Gaussian mixtures (the PacGAN / VEEGAN benchmarks on `ring` and `grid`).

Every generated point is assigned to its nearest true mode. A point is *high quality* when it
lies within ``THRESHOLD_STD`` standard deviations of that mode (strictly, as in the PacGAN code).
From the high-quality points' mode histogram come three scores:

- ``modes``: how many modes hold at least one high-quality point (higher is better);
- ``high_quality``: the share of all points that are high quality, in [0, 1] (higher is better);
- ``reverse_kl``: KL(generated mode histogram || uniform) in nats, the histogram taken over
  the high-quality points only (lower is better; 0 when every mode gets the same share).

The last is what PacGAN's Table 1 calls reverse KL: its code builds the same histogram
("detail of coverage") and the KL to the uniform target equals log K minus its entropy.
With no high-quality point at all the histogram is undefined; we report the maximum, log K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec, generated_samples

THRESHOLD_STD = 3.0
PACGAN_NUM_SAMPLES = 2500
"""The sample count of PacGAN's Table 1; benchmark suites use it for ring and grid."""


@dataclass(frozen=True)
class KnownModes:
    """The true modes of a mixture and their (shared, isotropic) standard deviation."""

    name: str
    centres: Tensor
    std: float


def known_modes(info: DataInfo) -> KnownModes:
    """The modes of a run's data: a built-in mixture by name, or ``modes`` + ``mode_std`` in the data's extras."""
    from ganzoo.data.toy2d import MIXTURES

    name = info.extras.get("mixture")
    if name in MIXTURES:
        mixture = MIXTURES[name]()
        return KnownModes(mixture.name, mixture.modes, mixture.std)
    centres, std = info.extras.get("modes"), info.extras.get("mode_std")
    if centres is not None and std:
        return KnownModes(str(name or "custom"), torch.as_tensor(centres, dtype=torch.float32), float(std))
    raise ConfigError("mode-collapse scores need data with known modes (ring, grid, or a points dataset "
                      "whose DataInfo extras give 'modes' and 'mode_std')")


def mode_histogram(points: Tensor, centres: Tensor, std: float, threshold: float = THRESHOLD_STD) -> Tensor:
    """High-quality points per mode (int64, one count per mode); non-finite points count nowhere."""
    distances = torch.cdist(points.detach().double().cpu(), centres.double().cpu())
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance < threshold * std  # NaN compares False: never high quality
    return torch.bincount(nearest[high_quality], minlength=len(centres))


def reverse_kl(counts: Tensor) -> float:
    """KL(histogram || uniform) in nats; log K (its maximum) for an empty histogram."""
    k = len(counts)
    total = int(counts.sum())
    if total == 0:
        return math.log(k)
    p = counts[counts > 0].double() / total
    return max(0.0, float((p * (p * k).log()).sum()))


def mode_scores(points: Tensor, modes: KnownModes, threshold: float = THRESHOLD_STD) -> dict[str, float]:
    """The three scores of one sample set (see the module docstring)."""
    counts = mode_histogram(points, modes.centres, modes.std, threshold)
    return {
        "modes": float((counts > 0).sum()),
        "high_quality": float(counts.sum()) / max(1, len(points)),
        "reverse_kl": reverse_kl(counts),
    }


def _generated_points(ctx: EvalContext) -> Tensor:
    return generated_samples(ctx).reshape(ctx.num_samples, -1)


def _scores(ctx: EvalContext) -> tuple[dict[str, float], dict[str, Any]]:
    """All three scores from one sample set, shared by the three metrics of an evaluation."""
    if "modes" not in ctx.cache:
        modes = known_modes(ctx.data_info)
        points = _generated_points(ctx)
        if points.shape[1] != modes.centres.shape[1]:
            raise ConfigError(f"generated points have {points.shape[1]} dimensions, the modes {modes.centres.shape[1]}")
        protocol = {
            "num_generated": ctx.num_samples,
            "mixture": modes.name,
            "num_modes": len(modes.centres),
            "mode_std": modes.std,
            "threshold_std": THRESHOLD_STD,
        }
        ctx.cache["modes"] = (mode_scores(points, modes), protocol)
    return ctx.cache["modes"]


def _metric(key: str):
    def compute(ctx: EvalContext) -> MetricResult:
        scores, protocol = _scores(ctx)
        return MetricResult({key: scores[key]}, protocol)

    return compute


MODE_SPECS = [
    MetricSpec("modes", "modes of a 2-D mixture holding at least one sample within 3 std", ("points",),
               _metric("modes"), {"modes": "higher"}),
    MetricSpec("high_quality", "share of samples within 3 std of their nearest mode", ("points",),
               _metric("high_quality"), {"high_quality": "higher"}),
    MetricSpec("reverse_kl", "KL(mode histogram of high-quality samples || uniform), nats", ("points",),
               _metric("reverse_kl"), {"reverse_kl": "lower"}),
]

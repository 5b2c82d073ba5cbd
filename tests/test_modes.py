"""Mode-collapse scores on hand-made sample sets, and through `ganzoo eval` on a trained ring run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from conftest import TINY_VANILLA
from ganzoo.data.base import DataInfo
from ganzoo.data.toy2d import grid_mixture, ring_mixture
from ganzoo.errors import ConfigError
from ganzoo.metrics.modes import KnownModes, known_modes, mode_histogram, mode_scores, reverse_kl

RING = KnownModes("ring", ring_mixture().modes, ring_mixture().std)
GRID = KnownModes("grid", grid_mixture().modes, grid_mixture().std)


def near(centres: torch.Tensor, per_mode: list[int], spread: float, seed: int = 0) -> torch.Tensor:
    """per_mode[i] points at mode i, each displaced by at most `spread` in each coordinate."""
    gen = torch.Generator().manual_seed(seed)
    chunks = [centres[i] + (torch.rand(n, 2, generator=gen) * 2 - 1) * spread for i, n in enumerate(per_mode) if n]
    return torch.cat(chunks)


def test_all_samples_on_one_mode_is_full_collapse():
    points = near(RING.centres, [2500, 0, 0, 0, 0, 0, 0, 0], spread=0.01)
    scores = mode_scores(points, RING)
    assert scores["modes"] == 1 and scores["high_quality"] == 1.0
    assert scores["reverse_kl"] == pytest.approx(math.log(8))


@pytest.mark.parametrize("modes", [RING, GRID], ids=["ring", "grid"])
def test_perfectly_spread_samples_score_best(modes):
    k = len(modes.centres)
    points = near(modes.centres, [100] * k, spread=modes.std)  # within 1.42 std: all high quality
    scores = mode_scores(points, modes)
    assert scores == {"modes": float(k), "high_quality": 1.0, "reverse_kl": 0.0}


def test_off_mode_noise_is_low_quality_and_captures_nothing():
    # points on the ring circle but half-way between modes, and far outside it
    angles = (torch.arange(8) + 0.5) * (2 * math.pi / 8)
    between = torch.stack([angles.cos(), angles.sin()], dim=1).repeat(100, 1)
    far = torch.randn(800, 2, generator=torch.Generator().manual_seed(1)) * 0.05 + 3.0
    scores = mode_scores(torch.cat([between, far]), RING)
    assert scores["modes"] == 0 and scores["high_quality"] == 0.0
    assert scores["reverse_kl"] == pytest.approx(math.log(8))  # empty histogram: the maximum


def test_quality_and_histogram_use_only_points_within_three_std():
    good = near(GRID.centres, [10] * 5 + [0] * 20, spread=0.02)  # 50 points on 5 modes
    outside = GRID.centres[:10] + torch.tensor([4 * GRID.std, 0.0])  # 4 std away from 10 modes
    scores = mode_scores(torch.cat([good, outside]), GRID)
    assert scores["modes"] == 5
    assert scores["high_quality"] == pytest.approx(50 / 60)
    assert scores["reverse_kl"] == pytest.approx(math.log(25 / 5))  # uniform over 5 of 25 modes


def test_reverse_kl_matches_the_definition_on_an_uneven_histogram():
    counts = torch.tensor([6, 2, 0, 0])
    p = torch.tensor([0.75, 0.25])
    assert reverse_kl(counts) == pytest.approx(float((p * (p * 4).log()).sum()))
    assert reverse_kl(torch.tensor([5, 5, 5, 5])) == 0.0


def test_non_finite_points_are_never_high_quality():
    points = torch.tensor([[float("nan"), 0.0], [float("inf"), 1.0], [1.0, 0.0]])
    assert mode_histogram(points, RING.centres, RING.std).tolist() == [1, 0, 0, 0, 0, 0, 0, 0]


def test_modes_come_from_the_mixture_name_or_explicit_extras():
    assert len(known_modes(DataInfo("points", (2,), extras={"mixture": "grid"})).centres) == 25
    custom = known_modes(DataInfo("points", (2,), extras={"modes": [[0, 0], [1, 1]], "mode_std": 0.1}))
    assert custom.centres.shape == (2, 2) and custom.std == 0.1
    with pytest.raises(ConfigError, match="known modes"):
        known_modes(DataInfo("points", (2,)))


def test_eval_of_a_ring_run_reports_the_three_scores_with_their_protocol(cli, tmp_path):
    out = tmp_path / "ring"
    assert cli("train", "vanilla", "--dataset", "ring", "--steps", "5", "--out", out, "--quiet", *TINY_VANILLA).code == 0
    result = cli("eval", out, "--num-samples", "2500", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert set(report["eval"]) == {"modes", "high_quality", "reverse_kl"}
    assert 0 <= report["eval"]["modes"] <= 8 and 0 <= report["eval"]["high_quality"] <= 1
    assert report["better"] == {"modes": "higher", "high_quality": "higher", "reverse_kl": "lower"}
    protocol = report["protocol"]["modes"]
    assert protocol["num_generated"] == 2500 and protocol["mixture"] == "ring" and protocol["threshold_std"] == 3.0

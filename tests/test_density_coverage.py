"""Density and coverage (Naeem et al. 2020, through prdc): hand cases, the eval path, its protocol and the leaderboard."""

from __future__ import annotations

import json

import numpy as np
import prdc
import pytest
import torch

import ganzoo
from ganzoo.benchmarking.formats import render
from ganzoo.benchmarking.leaderboard import build
from ganzoo.benchmarking.results import append_row
from ganzoo.errors import ConfigError
from ganzoo.metrics import fidelity
from ganzoo.metrics.extractors import DomainFeatureExtractor
from ganzoo.metrics.fidelity import DC_NEAREST_K, density_coverage, score_features
from ganzoo.plugins import get_registry

pytestmark = pytest.mark.usefixtures("private_cache")


def column(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).reshape(-1, 1)


def via_ganzoo(real: np.ndarray, fake: np.ndarray, **kwargs) -> dict[str, float]:
    """ganzoo's metric path on feature dicts, under the layer a domain extractor gives precision/recall ('pool')."""
    return score_features({"pool": torch.from_numpy(fake)}, {"pool": torch.from_numpy(real)}, ["dc"],
                          DomainFeatureExtractor, **kwargs)


# ---- hand cases --------------------------------------------------------------------------------
# Density: (1/k) * the mean over generated points of how many real k-NN balls hold them.
# Coverage: the share of real points whose k-NN ball holds at least one generated point.
# A real point's radius is the distance to its k-th nearest *other* real point; "holds" is strict (<),
# so every fake below sits at a half-integer distance from integer radii: no ties.

# 1-D, k = 5 (the default). Real: 0, 1, ..., 9. The 5th nearest other real point of
#   0 is 5 (others at 1..9)                -> r = 5;   9 likewise -> 5
#   1 is 4 (1,1,2,3,4 | 5..)               -> r = 4;   8 likewise -> 4
#   2 is 3 (1,1,2,2,3 | 4..)               -> r = 3;   7 likewise -> 3
#   3, 4, 5, 6: (1,1,2,2,3 | 3..)          -> r = 3
# radii = [5, 4, 3, 3, 3, 3, 3, 3, 4, 5]
# Fake: 0.5 twice and 20 five times (prdc needs k + 2 = 7 points per set, see below).
#   0.5 lies within the balls of real 0 (0.5 < 5), 1 (0.5 < 4), 2 (1.5 < 3), 3 (2.5 < 3),
#   not of 4 (3.5 >= 3), 5 (4.5), 6 (5.5), 7 (6.5), 8 (7.5 >= 4), 9 (8.5 >= 5): 4 balls.
#   20 lies in none (11 or more away, radii at most 5).
#   density  = (1/5) * (4 + 4 + 0*5) / 7 = 8/35 = 0.228571...
#   coverage: real 0..3 hold 0.5 (their nearest fake); 4..9 hold none (0.5 is the nearest fake of all): 4/10 = 0.4
REAL_1D = column(range(10))
FAKE_1D = column([0.5, 0.5, 20, 20, 20, 20, 20])

# 2-D, k = 1. Real: the unit square's corners; each one's nearest other corner is 1 away -> r = 1 for all.
# Fake: the centre (0.5, 0.5) is sqrt(0.5) = 0.707 < 1 from every corner: in 4 balls; (3, 3) and (3, 4) in none.
#   density  = (1/1) * (4 + 0 + 0) / 3 = 4/3 (density is not capped at 1)
#   coverage = every corner holds the centre: 4/4 = 1
REAL_2D = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
FAKE_2D = np.array([[0.5, 0.5], [3, 3], [3, 4]], dtype=np.float32)


def test_prdc_agrees_with_the_hand_worked_1d_case(capsys):
    scores = prdc.compute_prdc(REAL_1D, FAKE_1D, nearest_k=5)
    assert scores["density"] == pytest.approx(8 / 35) and scores["coverage"] == pytest.approx(0.4)
    capsys.readouterr()


def test_ganzoo_metric_path_gives_the_hand_worked_numbers(capsys):
    assert DC_NEAREST_K == 5
    assert via_ganzoo(REAL_1D, FAKE_1D) == pytest.approx({"density": 8 / 35, "coverage": 0.4})
    square = via_ganzoo(REAL_2D, FAKE_2D, dc_k=1)
    assert square == pytest.approx({"density": 4 / 3, "coverage": 1.0})
    assert capsys.readouterr().out == ""  # prdc's "Num real: ..." line is kept off stdout (it would break --json)
    expected = prdc.compute_prdc(REAL_2D, FAKE_2D, nearest_k=1)
    assert square == pytest.approx({k: expected[k] for k in ("density", "coverage")})


def test_too_few_features_is_one_clear_config_error():
    with pytest.raises(ConfigError) as caught:
        density_coverage(torch.from_numpy(REAL_1D), torch.from_numpy(FAKE_1D[:6]), k=5)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "need at least 7 real and 7 generated images; got 10 real and 6 generated" in message
    with pytest.raises(ConfigError, match="got 4 real and 3 generated"):
        density_coverage(torch.from_numpy(REAL_2D), torch.from_numpy(FAKE_2D), k=5)


def test_dc_is_registered_off_by_default_with_its_directions():
    spec = get_registry().metric("dc")
    assert spec.default is False and spec.modalities == ("image",)
    assert dict(spec.better) == {"density": "higher", "coverage": "higher"}


# ---- through `ganzoo eval` ---------------------------------------------------------------------
def test_evaluate_gives_density_and_coverage_from_the_shared_features_and_records_k(tiny_run, monkeypatch):
    extracted, references = [], []
    generate, reference = fidelity.features_of_generator, fidelity.reference_features

    def counting_generate(*args, **kwargs):
        extracted.append(generate(*args, **kwargs))
        return extracted[-1]

    def keeping_reference(*args, **kwargs):
        references.append(reference(*args, **kwargs))
        return references[-1]

    monkeypatch.setattr(fidelity, "features_of_generator", counting_generate)
    monkeypatch.setattr(fidelity, "reference_features", keeping_reference)
    report = ganzoo.evaluate(tiny_run, metrics="fid,kid,prc,dc", num_samples=300)
    assert len(extracted) == 1 and len(references) == 1  # one pass of generated and of real features for all four
    assert {"fid", "kid", "precision", "recall", "density", "coverage"} <= set(report.scores)
    assert report.better["density"] == "higher" and report.better["coverage"] == "higher"

    fake, real = extracted[0]["pool"], references[0].features["pool"]  # the layer precision/recall use
    assert fake.shape == (300, 128) and real.shape == (1437, 128)  # ganzoo-digits: 128-d pooled features
    expected = prdc.compute_prdc(real.numpy(), fake.numpy(), nearest_k=5)
    assert report.scores["density"] == pytest.approx(float(expected["density"]), rel=1e-6)
    assert report.scores["coverage"] == pytest.approx(float(expected["coverage"]), rel=1e-6)

    dc, fid = report.protocols["dc"], report.protocols["fid"]
    assert dc["dc_k"] == 5 and dc["prdc"]
    assert "dc_k" not in fid and report.protocols["prc"] == fid  # the other scores' protocol is as it was
    assert {k: v for k, v in dc.items() if k not in {"dc_k", "prdc"}} == fid


def test_eval_cli_json_carries_density_coverage_and_k(cli, tiny_run):
    result = cli("eval", tiny_run, "--num-samples", "200", "--metrics", "prc,dc", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)  # prdc's print would make this fail
    assert set(report["eval"]) == {"precision", "recall", "f_score", "density", "coverage"}
    assert report["protocol"]["dc"]["dc_k"] == 5 and report["protocol"]["dc"]["num_generated"] == 200
    text = cli("eval", tiny_run, "--num-samples", "200", "--metrics", "dc")
    assert text.code == 0 and "density" in text.out and "dc_k 5" in text.out


def test_eval_with_fewer_samples_than_k_needs_exits_2_with_one_line(cli, tiny_run):
    result = cli("eval", tiny_run, "--num-samples", "6", "--metrics", "dc")
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1 and "need at least 7 real and 7 generated" in result.err


# ---- the leaderboard ---------------------------------------------------------------------------
FID_PROTOCOL = {"feature_extractor": "ganzoo-digits", "num_generated": 300, "num_real": 1437, "reference": "digits:train"}


def bench_row(entry: str, density: float, coverage: float, fid: float, dc_k: int = 5) -> dict:
    """A results.jsonl row as the bench worker writes it for --metrics fid,dc."""
    dc_protocol = {**FID_PROTOCOL, "dc_k": dc_k, "prdc": "0.2"}
    return {"run_id": f"{entry}-seed0", "entry": entry, "seed": 0, "model": "dcgan", "suite": "t", "dataset": "digits",
            "status": "ok", "options": {"dataset": "digits", "seed": 0}, "config": {"loss": "nonsaturating"},
            "step": 10, "scores": {"fid": fid, "density": density, "coverage": coverage},
            "better": {"fid": "lower", "density": "higher", "coverage": "higher"},
            "protocol": {"metrics": {"fid": FID_PROTOCOL, "dc": dc_protocol},
                         "keys": {"fid": ["fid"], "dc": ["coverage", "density"]}, "request": {}},
            "train_seconds": 1.0, "steps_per_second": 10.0, "device": "cpu", "history": [], "sample": None}


def test_density_and_coverage_rank_in_leaderboard_tables_kept_apart_by_k(tmp_path):
    rows = [bench_row("a", 0.9, 0.7, 30.0), bench_row("b", 1.1, 0.5, 20.0), bench_row("c", 2.0, 0.9, 10.0, dc_k=3)]
    board = build(rows)
    by_metrics = {}
    for table in board.tables:
        by_metrics.setdefault(tuple(table.protocols), []).append(table)
    (fid_table,) = by_metrics[("fid",)]
    assert [r.entry for r in fid_table.rows] == ["c", "b", "a"] and fid_table.keys == ["fid"]
    k5, k3 = sorted(by_metrics[("dc",)], key=lambda t: t.protocols["dc"]["dc_k"], reverse=True)
    assert k5.keys == ["coverage", "density"] and [r.entry for r in k5.rows] == ["a", "b"]  # k=3's c is not among them
    ranks = {r.entry: r.ranks for r in k5.rows}
    assert ranks == {"a": {"coverage": 1, "density": 2}, "b": {"coverage": 2, "density": 1}}
    assert [r.entry for r in k3.rows] == ["c"]
    for row in rows:
        append_row(tmp_path, row)
    markdown = render(tmp_path, "md")
    assert "density" in markdown and "coverage" in markdown and "dc_k 5" in markdown and "dc_k 3" in markdown

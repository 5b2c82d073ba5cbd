"""The leaderboard: grouping by dataset and protocol, mean +- std and ranks, formats, determinism."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import statistics
from pathlib import Path

import pytest

from conftest import ROOT
from ganzoo.benchmarking.formats import render
from ganzoo.benchmarking.leaderboard import build
from ganzoo.benchmarking.results import append_row

COMMITTED = ROOT / "benchmarks" / "results" / "cpu"
RING_PROTOCOL = {"num_generated": 2500, "mixture": "ring"}
OTHER_PROTOCOL = {"num_generated": 500, "mixture": "ring"}
KID_PROTOCOL = {"num_generated": 100, "feature_extractor": "x"}  # a second metric family in every run


def row(entry: str, seed: int, modes: float | None = None, kl: float | None = None, status: str = "ok",
        protocol: dict | None = None, dataset: str = "ring", **extra) -> dict:
    base = {"run_id": f"{entry}-seed{seed}", "entry": entry, "seed": seed, "model": entry.split("-")[0], "suite": "t",
            "dataset": dataset, "status": status, "options": {"dataset": dataset, "seed": seed, "lr_g": 0.001}}
    if status != "ok":
        return {**base, "error": "boom", **extra}
    protocol = protocol or RING_PROTOCOL
    return {**base, "config": {"loss": "nonsaturating", "steps": 100}, "step": 100,
            "scores": {"modes": modes, "reverse_kl": kl, "kid": 0.5, "kid_std": 0.1},
            "better": {"modes": "higher", "reverse_kl": "lower", "kid": "lower", "kid_std": "lower"},
            "protocol": {"metrics": {"modes": protocol, "reverse_kl": protocol, "kid": KID_PROTOCOL},
                         "keys": {"modes": ["modes"], "reverse_kl": ["reverse_kl"], "kid": ["kid", "kid_std"]},
                         "request": {"num_samples": 2500}},
            "train_seconds": 10.0 + seed, "steps_per_second": 10.0, "peak_rss_mb": 100.0 + seed, "device": "cpu",
            "history": [], "sample": None, **extra}


def modes_tables(board):
    return [t for t in board.tables if "modes" in t.protocols]


def results_dir(tmp_path: Path, rows: list[dict]) -> Path:
    for r in rows:
        append_row(tmp_path, r)
    return tmp_path


def test_mean_std_and_ranks_per_metric_follow_better():
    board = build([row("a-ring", 0, 8, 0.1), row("a-ring", 1, 6, 0.3),
                   row("b-ring", 0, 7, 0.05), row("b-ring", 1, 7, 0.05),
                   row("c-ring", 0, 4, 1.0)])
    (table,) = modes_tables(board)
    by_entry = {r.entry: r for r in table.rows}
    a = by_entry["a-ring"]
    assert a.scores["modes"].mean == 7 and a.scores["modes"].std == pytest.approx(statistics.stdev([8, 6]))
    assert by_entry["c-ring"].scores["modes"].std is None and by_entry["c-ring"].scores["modes"].n == 1
    # modes: a and b tie at 7 (rank 1), c is third; reverse_kl: b < a < c
    assert {e: r.ranks["modes"] for e, r in by_entry.items()} == {"a-ring": 1, "b-ring": 1, "c-ring": 3}
    assert {e: r.ranks["reverse_kl"] for e, r in by_entry.items()} == {"a-ring": 2, "b-ring": 1, "c-ring": 3}
    assert [r.entry for r in table.rows] == ["b-ring", "a-ring", "c-ring"]  # by mean rank
    assert table.keys == ["modes", "reverse_kl"]  # *_std keys are left out


def test_different_protocols_and_datasets_are_never_ranked_together():
    board = build([row("a-ring", 0, 8, 0.1), row("b-ring", 0, 1, 2.0, protocol=OTHER_PROTOCOL),
                   row("a-grid", 0, 20, 0.2, dataset="grid")])
    tables = modes_tables(board)
    assert len(tables) == 3
    assert all(len(t.rows) == 1 and t.rows[0].ranks["modes"] == 1 for t in tables)
    assert sorted(t.dataset for t in tables) == ["grid", "ring", "ring"]


def test_metrics_sharing_a_protocol_rank_together_whatever_else_the_runs_measured():
    # a-ring and b-ring differ in their modes protocol but share the kid one: one kid table holds both
    board = build([row("a-ring", 0, 8, 0.1), row("b-ring", 0, 1, 2.0, protocol=OTHER_PROTOCOL)])
    (kid,) = [t for t in board.tables if "kid" in t.protocols]
    assert kid.keys == ["kid"] and [r.entry for r in kid.rows] == ["a-ring", "b-ring"]
    assert [r.ranks["kid"] for r in kid.rows] == [1, 1]
    assert all(set(t.protocols) == {"modes", "reverse_kl"} for t in modes_tables(board))


def test_failed_runs_are_listed_apart_and_counted_in_seeds():
    board = build([row("a-ring", 0, 8, 0.1), row("a-ring", 1, status="failed"), row("z-ring", 0, status="skipped")])
    assert [u["run_id"] for u in board.unranked] == ["a-ring-seed1", "z-ring-seed0"]
    (table,) = modes_tables(board)
    assert table.rows[0].seeds == [0] and table.rows[0].seeds_total == 2


def test_the_latest_row_of_a_run_wins():
    board = build([row("a-ring", 0, status="failed"), row("a-ring", 0, 5, 0.5)])
    assert not board.unranked and modes_tables(board)[0].rows[0].scores["modes"].mean == 5


@pytest.mark.parametrize("fmt", ["md", "csv", "json", "html"])
def test_output_does_not_depend_on_row_order(tmp_path, fmt):
    rows = [row("a-ring", s, 8 - s, 0.1 * s) for s in range(3)] + [row("b-ring", s, 5, 0.2) for s in range(3)]
    rows.append(row("c-ring", 0, status="failed"))
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    first = render(results_dir(tmp_path / "a", rows), fmt)
    assert first == render(results_dir(tmp_path / "b", shuffled), fmt)


def test_formats_carry_the_same_numbers(tmp_path):
    out = results_dir(tmp_path, [row("a-ring", 0, 8, 0.1), row("a-ring", 1, 6, 0.3), row("b-ring", 0, 7, 0.5)])
    data = json.loads(render(out, "json"))
    (table,) = [t for t in data["tables"] if "modes" in t["protocol"]]
    a = next(r for r in table["rows"] if r["entry"] == "a-ring")
    assert a["scores"]["modes"] == {"mean": 7.0, "std": pytest.approx(1.4142135623730951), "n": 2, "rank": 1}
    lines = list(csv.DictReader(io.StringIO(render(out, "csv"))))
    modes_a = next(r for r in lines if r["entry"] == "a-ring" and r["metric"] == "modes")
    assert float(modes_a["mean"]) == 7.0 and modes_a["rank"] == "1" and modes_a["better"] == "higher"
    md = render(out, "md")
    assert "| 1 | a-ring | a | nonsaturating | 100 | 2/2 | 7 ± 1.414 (1) | 0.2 ± 0.1414 (1) |" in md
    assert "lr_g=0.001" in md


def test_html_is_self_contained_and_sortable(tmp_path):
    out = results_dir(tmp_path, [row("a-ring", 0, 8, 0.1), row("b-ring", 0, 7, 0.5)])
    page = render(out, "html")
    assert page.startswith("<!doctype html>") and "<script>" in page and 'class="sortable"' in page
    sources = re.findall(r'(?:src|href)="([^"#][^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page
    assert page.count('data-type="num"') >= 6


COMMITTED_FILES = {"md": "leaderboard.md", "html": "leaderboard.html", "csv": "leaderboard.csv", "json": "leaderboard.json"}


@pytest.mark.parametrize("fmt", sorted(COMMITTED_FILES))
def test_committed_leaderboard_regenerates_byte_for_byte(fmt):
    expected = (COMMITTED / COMMITTED_FILES[fmt]).read_bytes()
    assert render(COMMITTED, fmt).encode("utf-8") == expected, (
        f"regenerate with: ganzoo leaderboard {COMMITTED.relative_to(ROOT)} --format {fmt} -o "
        f"{(COMMITTED / COMMITTED_FILES[fmt]).relative_to(ROOT)}")

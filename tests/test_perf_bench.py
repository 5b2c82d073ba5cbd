"""The side-by-side benchmark script runs and reports every arm (numbers are measured, not tested)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "perf" / "bench_trainer.py"


def test_bench_trainer_reports_both_loops_side_by_side(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_trainer", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_trainer", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    threads = torch.get_num_threads()
    try:
        bench.main(["--sizes", "32", "--steps", "1", "--rounds", "2", "--warmup", "0", "--threads", "1", "--json"])
    finally:
        torch.set_num_threads(threads)  # later tests compare in-process runs with 2-thread subprocesses bitwise
    result = json.loads(capsys.readouterr().out)
    size = result["sizes"]["32"]
    assert set(size["arms"]) == {"plain-fp32", "ganzoo-fp32", "ganzoo-fast"}
    assert all(len(arm["s_per_step_rounds"]) == 2 and arm["s_per_step"] > 0 for arm in size["arms"].values())
    plain, ganzoo = size["arms"]["plain-fp32"]["s_per_step"], size["arms"]["ganzoo-fp32"]["s_per_step"]
    assert abs(size["ganzoo_fp32_overhead"] - (ganzoo / plain - 1)) < 1e-9
    assert result["peak_rss_mb"] > 0 and result["fast"]["precision"] == "bf16"

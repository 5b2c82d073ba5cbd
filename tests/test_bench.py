"""The bench runner: the smoke suite end to end, failures and time limits, and resuming a killed bench."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ganzoo
from conftest import ROOT
from ganzoo.benchmarking.results import protocol_id, read_rows

SMOKE = ROOT / "benchmarks" / "suites" / "smoke.toml"
TINY_OPTIONS = """
[options]
device = "cpu"
latent_dim = 8
g_hidden = 32
d_hidden = 16
log_every = 10
checkpoint_every = 10
sample_every = 0
num_samples = 200
"""

MIXED_SUITE = TINY_OPTIONS + """
[[entry]]
name = "too-big-batch"
model = "vanilla"
dataset = "digits"
steps = 5
[entry.options]
batch_size = 5000
[entry.protocol]
metrics = ["fid"]
num_samples = 100

[[entry]]
name = "over-time"
model = "vanilla"
dataset = "ring"
steps = 1000000
time_limit = 4

[[entry]]
name = "fine"
model = "vanilla"
dataset = "ring"
steps = 5
"""
"""A run that raises, one over its time limit, one that is fine."""


def rows_by_run(out: Path) -> dict[str, list[dict]]:
    by_run: dict[str, list[dict]] = {}
    for row in read_rows(out):
        by_run.setdefault(row["run_id"], []).append(row)
    return by_run


def test_smoke_suite_runs_scores_and_renders(tmp_path):
    started = time.perf_counter()
    summary = ganzoo.bench(SMOKE, tmp_path, progress=False)
    seconds = time.perf_counter() - started
    print(f"smoke suite: {seconds:.1f} s")
    assert summary.count("ok") == summary.total == 3, [r.get("error") for r in summary.rows]
    rows = read_rows(tmp_path)
    ring = [r for r in rows if r["dataset"] == "ring"]
    digits = [r for r in rows if r["dataset"] == "digits"]
    assert {r["seed"] for r in ring} == {0, 1} and len(digits) == 1
    for r in rows:
        assert r["config"]["trainer"]["steps"] == r["step"] and r["steps_per_second"] > 0 and r["train_seconds"] > 0
        assert r["peak_rss_mb"] > 0 and r["device"] == "cpu" and r["threads"] >= 1
        assert r["torch_version"] and r["ganzoo_version"] == ganzoo.__version__
        assert (tmp_path / r["sample"]).is_file() and (tmp_path / r["log"]).is_file()
        reported = next(iter(r["protocol"]["metrics"].values()))
        assert r["protocol"]["request"]["num_samples"] == reported["num_generated"]
    assert set(ring[0]["scores"]) == {"modes", "high_quality", "reverse_kl"}
    assert {"fid", "kid"} <= set(digits[0]["scores"])
    # eval_every in the suite: scores over training time, under the entry's protocol
    assert [h["step"] for h in ring[0]["history"]] == [15, 30]
    assert ring[0]["history"][0]["protocol_ids"]["modes"] == protocol_id(ring[0]["protocol"]["metrics"]["modes"])
    assert ring[0]["protocol"]["keys"] == {"modes": ["modes"], "high_quality": ["high_quality"],
                                           "reverse_kl": ["reverse_kl"]}
    for fmt in ("md", "csv", "json", "html"):
        assert "vanilla-ring" in ganzoo.leaderboard(tmp_path, fmt)
    # a second bench finds everything done and writes nothing
    again = ganzoo.bench(SMOKE, tmp_path, progress=False)
    assert again.rows == [] and len(again.already_done) == 3 and len(read_rows(tmp_path)) == 3


@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_suite_goes_on(tmp_path):
    suite = tmp_path / "mixed.toml"
    suite.write_text(MIXED_SUITE)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "ganzoo", "bench", suite, "--out", out, "--jobs", "2", "--quiet"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    latest = {run: rows[-1] for run, rows in rows_by_run(out).items()}
    assert latest["too-big-batch-seed0"]["status"] == "failed"
    assert "batch size 5000 is larger than the dataset" in latest["too-big-batch-seed0"]["error"]
    timed_out = latest["over-time-seed0"]
    assert timed_out["status"] == "timeout" and "time limit of 4 s" in timed_out["error"]
    assert (out / "runs" / "over-time-seed0" / "checkpoints").is_dir()  # stopped with a checkpoint to continue from
    assert latest["fine-seed0"]["status"] == "ok" and latest["fine-seed0"]["threads"] == max(1, len(os.sched_getaffinity(0)) // 2)
    assert "too-big-batch" in done.stdout + done.stderr


@pytest.mark.slow
def test_killed_bench_completes_on_rerun_without_redoing_finished_runs(tmp_path):
    suite = tmp_path / "kill.toml"
    entry = '[[entry]]\nmodel = "vanilla"\ndataset = "ring"\n[entry.protocol]\nmetrics = ["modes"]\nnum_samples = 500\n'
    suite.write_text("seeds = [0, 1]\nsteps = 300\n" + TINY_OPTIONS + entry)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), "--quiet"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second_run = out / "runs" / "vanilla-ring-seed1" / "checkpoints"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and first.poll() is None:
            if read_rows(out) and list(second_run.glob("step-*.safetensors")):
                break
            time.sleep(0.05)
        assert first.poll() is None, "the bench ended before it could be killed"
        checkpoint_at_kill = max(int(p.name[5:13]) for p in second_run.glob("step-*.safetensors"))
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    finished_before = [r["run_id"] for r in read_rows(out)]
    assert finished_before == ["vanilla-ring-seed0"]

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    by_run = rows_by_run(out)
    assert {run: [r["status"] for r in rows] for run, rows in by_run.items()} == {
        "vanilla-ring-seed0": ["ok"], "vanilla-ring-seed1": ["ok"]}
    resumed = by_run["vanilla-ring-seed1"][0]
    assert resumed["resumed_from_step"] >= checkpoint_at_kill > 0 and resumed["step"] == 300
    log = (out / "runs" / "vanilla-ring-seed1" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in log]
    # no step logged twice or out of order, none missing (the stopped worker logged and saved where it stopped)
    assert steps == sorted(set(steps)) and set(range(10, 301, 10)) <= set(steps) and steps[-1] == 300


@pytest.mark.slow
def test_ctrl_c_stops_the_bench_cleanly_and_writes_no_row_for_the_stopped_run(tmp_path):
    signum = signal.SIGINT  # SIGTERM takes the same path
    suite = tmp_path / "long.toml"
    suite.write_text("steps = 100000\n" + TINY_OPTIONS + '[[entry]]\nmodel = "vanilla"\ndataset = "ring"\n')
    out = tmp_path / "out"
    bench = subprocess.Popen([sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), "--quiet"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = out / "runs" / "vanilla-ring-seed0" / "checkpoints"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(checkpoints.glob("step-*.safetensors")):
        time.sleep(0.05)
    bench.send_signal(signum)
    _, err = bench.communicate(timeout=120)
    assert bench.returncode == 128 + signum, err
    assert "run the same command again to continue" in err
    assert read_rows(out) == []


def test_timeline_lays_attempts_end_to_end_and_leaves_out_scoring_time():
    from ganzoo.benchmarking.results import timeline

    protocol = {"modes": {"num_generated": 10}}
    records = [
        {"step": 10, "time_s": 1.0},
        {"step": 20, "time_s": 5.0, "eval": {"modes": 3.0}, "eval_seconds": 2.0, "protocol": protocol},
        {"step": 30, "time_s": 6.0},
        # resumed from the checkpoint at step 30: time starts again
        {"step": 40, "time_s": 0.5},
        {"step": 50, "time_s": 2.5, "eval": {"modes": 5.0}, "eval_seconds": 1.0, "protocol": protocol},
    ]
    seconds, history = timeline(records)
    assert seconds == 6.0 - 2.0 + 2.5 - 1.0
    assert [(h["step"], h["train_seconds"], h["scores"]["modes"]) for h in history] == [(20, 3.0, 3.0), (50, 5.5, 5.0)]
    assert history[0]["protocol_ids"]["modes"] == protocol_id(protocol["modes"])


def test_results_file_survives_a_torn_last_line(tmp_path):
    from ganzoo.benchmarking.results import append_row

    append_row(tmp_path, {"run_id": "a", "status": "ok"})
    with (tmp_path / "results.jsonl").open("a") as handle:
        handle.write('{"run_id": "b", "sta')  # the writer was killed mid-line
    append_row(tmp_path, {"run_id": "c", "status": "failed"})
    assert [r["run_id"] for r in read_rows(tmp_path)] == ["a", "c"]

"""Bench executors: the contract (a third party's executor), options and their errors, and Ray for real.

The Ray tests start a real local cluster (its state in a temp dir, token auth off) and stop it.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from test_bench import MIXED_SUITE, rows_by_run

import ganzoo
from conftest import ROOT
from ganzoo.benchmarking.results import read_rows
from plugin_env import FakeEntryPoint, module_from, use_entry_points

SMOKE = ROOT / "benchmarks" / "suites" / "smoke.toml"
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
TINY_RING = """
steps = {steps}
[options]
device = "cpu"
precision = "fp32"
latent_dim = 8
g_hidden = 32
d_hidden = 16
log_every = 10
checkpoint_every = 10
sample_every = 0
num_samples = 200
[[entry]]
model = "vanilla"
dataset = "ring"
[entry.protocol]
metrics = ["modes", "reverse_kl"]
num_samples = 200
"""
SEQUENTIAL_EXECUTOR = '''
import json, subprocess, sys
from ganzoo.plugin import ExecutorSpec, Option, collect_outcome, hookimpl

def run(tasks, ctx):
    """One run after another, each in a fresh python process: the plugin API is all it needs."""
    for task in tasks:
        code = "import json, sys; from ganzoo.plugin import run_bench_task; run_bench_task(json.loads(sys.argv[1]))"
        done = subprocess.run([sys.executable, "-c", code, json.dumps(task.payload(ctx.options["threads"]))])
        yield task.run_id, collect_outcome(ctx, task.run_id, f"process ended with {done.returncode}")

@hookimpl
def register_executors(register):
    register(ExecutorSpec("one-by-one", "sequential subprocesses", run, options={"threads": Option(1, "threads")}))
'''


def scores_by_run(out: Path) -> dict[str, dict]:
    return {row["run_id"]: row["scores"] for row in read_rows(out)}


def bench_cli(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", "bench", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=timeout)


def test_a_third_party_executor_runs_a_suite_without_core_changes(tmp_path, monkeypatch):
    use_entry_points(monkeypatch, FakeEntryPoint("vanilla", importlib.import_module("ganzoo_vanilla")),
                     FakeEntryPoint("local", importlib.import_module("ganzoo_local")),
                     FakeEntryPoint("onebyone", module_from(SEQUENTIAL_EXECUTOR, "onebyone")))
    suite = tmp_path / "tiny.toml"
    suite.write_text("seeds = [0, 1]\n" + TINY_RING.format(steps=20) + "[executor.one-by-one]\nthreads = 1\n")
    summary = ganzoo.bench(suite, tmp_path / "out", executor="one-by-one", progress=False)
    assert summary.count("ok") == 2, [row.get("error") for row in summary.rows]
    rows = read_rows(tmp_path / "out")
    assert {row["executor"] for row in rows} == {"one-by-one"} and {row["threads"] for row in rows} == {1}
    local = ganzoo.bench(suite, tmp_path / "local", executor="local", executor_options={"threads": 1}, progress=False)
    assert local.count("ok") == 2
    assert scores_by_run(tmp_path / "out") == scores_by_run(tmp_path / "local")


@pytest.mark.parametrize(("args", "message"), [
    (["--executor", "rya"], "unknown executor 'rya'; did you mean 'ray'"),
    (["-E", "thread=2"], "unknown option of executor 'local' (in --executor-option) 'thread'; did you mean 'threads'"),
    (["-E", "threads=many"], "executor local option threads must be a whole number"),
    (["-E", "threads"], "--executor-option expects KEY=VALUE"),
])
def test_executor_mistakes_are_one_line_exit_2_and_nothing_runs(cli, tmp_path, args, message):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20))
    result = cli("bench", suite, "--out", tmp_path / "out", *args)
    assert result.code == 2 and message in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_bad_value_in_the_suites_executor_table_names_the_table(cli, tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20) + "[executor.local]\nthreds = 1\n")
    result = cli("bench", suite, "--out", tmp_path / "out")
    assert result.code == 2 and "[executor.local] table" in result.err and "did you mean 'threads'" in result.err


def test_list_executors_shows_the_built_in_ones(cli):
    result = cli("list", "executors", "--json")
    assert result.code == 0
    assert {"local", "ray", "slurm"} <= {item["name"] for item in json.loads(result.out)}


# ---- Ray, a real local cluster --------------------------------------------------------------------
ray = pytest.importorskip("ray")


@pytest.fixture
def ray_tmp():
    """A short directory for Ray's session files (its socket paths must stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="gzray-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def ray_options(ray_tmp: Path) -> list[str]:
    return ["--executor", "ray", "-E", "local_cpus=2", "-E", f"temp_dir={ray_tmp}"]


@pytest.mark.slow
def test_the_smoke_suite_scores_the_same_on_ray_as_on_local(tmp_path, ray_tmp, local_smoke):
    on_ray = bench_cli(SMOKE, "--out", tmp_path / "ray", *ray_options(ray_tmp), "--quiet", env=RAY_ENV)
    assert on_ray.returncode == 0, on_ray.stderr
    assert scores_by_run(local_smoke) == scores_by_run(tmp_path / "ray")
    assert {row["executor"] for row in read_rows(tmp_path / "ray")} == {"ray"}
    tables = []
    for out in (local_smoke, tmp_path / "ray"):
        text = ganzoo.leaderboard(out, "csv")
        tables.append([line.split(",")[:9] for line in text.splitlines()])  # up to the scores, before the timings
    assert tables[0] == tables[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("options", "message"), [
    (["-E", "address=127.0.0.1:{port}"], "cannot reach the Ray cluster at '127.0.0.1:{port}'"),
    (["-E", "local_cpus=2", "-E", "cpus=64"], "no node of the Ray cluster can run a task asking CPU 64"),
])
def test_ray_refuses_what_cannot_run_with_one_line_and_submits_nothing(tmp_path, ray_tmp, options, message):
    port = _free_port()
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20))
    options = [item.format(port=port) for item in options]
    result = bench_cli(suite, "--out", tmp_path / "out", "--executor", "ray", "-E", f"temp_dir={ray_tmp}",
                       *options, env=RAY_ENV, timeout=120)
    assert result.returncode == 2 and message.format(port=port) in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # not even the plan line: nothing started
    assert read_rows(tmp_path / "out") == [] and not (tmp_path / "out" / "logs").exists()


@pytest.mark.slow
def test_a_ray_worker_killed_mid_run_is_retried_and_resumes_from_its_checkpoint(tmp_path, ray_tmp):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=1500).replace("checkpoint_every = 10", "checkpoint_every = 100"))
    out = tmp_path / "out"
    bench = subprocess.Popen([sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out),
                              *ray_options(ray_tmp), "--quiet"], cwd=ROOT, env={**os.environ, **RAY_ENV},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = out / "runs" / "vanilla-ring-seed0" / "checkpoints"
    log = out / "logs" / "vanilla-ring-seed0.log"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and not list(checkpoints.glob("step-*.safetensors")):
            assert bench.poll() is None, bench.communicate()
            time.sleep(0.05)
        pid = int(re.findall(r"pid (\d+)\)", log.read_text())[-1])
        os.kill(pid, signal.SIGKILL)
        _, err = bench.communicate(timeout=300)
    finally:
        bench.kill()
    assert bench.returncode == 0, err
    (row,) = read_rows(out)
    assert row["status"] == "ok" and row["step"] == 1500 and row["resumed_from_step"] >= 100
    text = log.read_text()
    assert len(re.findall(r"pid (\d+)\)", text)) == 2 and f"resuming from step {row['resumed_from_step']}" in text


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_ray_refuses_an_output_folder_its_workers_cannot_see(tmp_path, ray_tmp):
    """The driver writes into a tmpfs only its own mount namespace has; the cluster runs outside it."""
    port = _free_port()
    env = {**os.environ, **RAY_ENV}
    ray_bin = str(Path(sys.executable).parent / "ray")
    head = subprocess.Popen([ray_bin, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=1", "--include-dashboard=false", f"--temp-dir={ray_tmp}",
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        private = tmp_path / "private"
        private.mkdir()
        suite = tmp_path / "tiny.toml"
        suite.write_text(TINY_RING.format(steps=20))
        script = (f"mount -t tmpfs none {private} && exec {sys.executable} -m ganzoo bench {suite} "
                  f"--out {private / 'out'} --executor ray -E address=127.0.0.1:{port}")
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                                text=True, env=env, cwd=ROOT, timeout=180)
        assert result.returncode == 2, result.stderr
        assert "cannot see the output folder" in result.stderr.strip().splitlines()[-1]
        assert not list((private).iterdir())  # outside the namespace, the folder stayed empty
    finally:
        # only this head's processes: other clusters on the machine live on. Ray's agents may ignore
        # SIGTERM for half a minute (ray-project/ray#59162), so the group gets SIGKILL after a short grace
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait()


@pytest.mark.slow
def test_on_ray_a_run_that_raises_is_recorded_once_and_a_time_limit_stops_a_run(tmp_path, ray_tmp):
    suite = tmp_path / "mixed.toml"
    suite.write_text(MIXED_SUITE)
    out = tmp_path / "out"
    done = bench_cli(suite, "--out", out, *ray_options(ray_tmp), "--quiet", env=RAY_ENV)
    assert done.returncode == 1, done.stderr
    latest = {row["run_id"]: row for row in read_rows(out)}
    failed = latest["too-big-batch-seed0"]
    assert failed["status"] == "failed" and "batch size 5000 is larger than the dataset" in failed["error"]
    assert (out / failed["log"]).read_text().count("== too-big-batch-seed0 (attempt") == 1  # not retried
    assert latest["over-time-seed0"]["status"] == "timeout" and "time limit of 4 s" in latest["over-time-seed0"]["error"]
    assert latest["fine-seed0"]["status"] == "ok" and len(read_rows(out)) == 3


def _ray_processes_under(ray_tmp: Path) -> list[int]:
    """PIDs of the processes whose command line names this test's Ray temp dir."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(ray_tmp) in (proc / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _watch(bench: subprocess.Popen, ready: Callable[[], bool], timeout: float = 180) -> None:
    """Wait until ``ready()``, failing if the bench ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert bench.poll() is None, "the bench ended before it could be stopped"
        assert time.monotonic() < deadline, "timed out waiting for the bench"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_ray_bench_stopped_by_ctrl_c_or_killed_continues_on_rerun_without_redoing_finished_runs(tmp_path, ray_tmp):
    suite = tmp_path / "two.toml"
    suite.write_text("seeds = [0, 1]\n" + TINY_RING.format(steps=1000))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), *ray_options(ray_tmp),
               "-E", "local_cpus=1", "--quiet"]
    env = {**os.environ, **RAY_ENV}
    first_checkpoints = out / "runs" / "vanilla-ring-seed0" / "checkpoints"

    # Ctrl-C mid-run: the run checkpoints, no row is written, the local cluster goes down with the driver
    bench = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _watch(bench, lambda: bool(list(first_checkpoints.glob("step-*.safetensors"))))
        bench.send_signal(signal.SIGINT)
        _, err = bench.communicate(timeout=120)
    finally:
        bench.kill()
    assert bench.returncode == 128 + signal.SIGINT, err
    assert "run the same command again to continue" in err and read_rows(out) == []
    time.sleep(2)
    assert _ray_processes_under(ray_tmp) == []
    stopped_at = max(int(p.name[5:13]) for p in first_checkpoints.glob("step-*.safetensors"))

    # SIGKILL once the first run has its row: nothing finished is lost
    bench = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _watch(bench, lambda: bool(read_rows(out)))
        bench.send_signal(signal.SIGKILL)
    finally:
        bench.kill()
        bench.wait()
        # Ray leaves its local cluster's agent processes behind when the driver is SIGKILLed
        # (ray-project/ray#52385); the worker running seed 1 may outlive the driver a moment too
        time.sleep(2)
        for pid in _ray_processes_under(ray_tmp):
            os.kill(pid, signal.SIGKILL)
    (first,) = read_rows(out)
    assert first["run_id"] == "vanilla-ring-seed0" and first["resumed_from_step"] == stopped_at > 0

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "2 runs; 1 were done" in rerun.stdout
    assert {run: [row["status"] for row in rows] for run, rows in rows_by_run(out).items()} == {
        "vanilla-ring-seed0": ["ok"], "vanilla-ring-seed1": ["ok"]}


def test_a_ray_error_without_a_message_is_named_by_its_type():
    ray_exceptions = pytest.importorskip("ray.exceptions")
    from ganzoo_ray import failure_reason

    # a task force-cancelled after Ctrl-C's grace period raises one with an empty message (it once made the bench
    # end with an IndexError instead of exit 130)
    assert failure_reason(ray_exceptions.TaskCancelledError()) == "TaskCancelledError"
    crashed = ray_exceptions.WorkerCrashedError()
    assert failure_reason(crashed) == str(crashed).splitlines()[0] != ""

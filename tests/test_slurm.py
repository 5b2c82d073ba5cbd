"""The slurm executor against a real one-node SLURM cluster started in a temp dir (see slurm_cluster.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster, missing
from test_executors import SMOKE, TINY_RING, scores_by_run

from conftest import ROOT
from ganzoo.benchmarking.results import read_rows

pytest.importorskip("submitit")
pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture(scope="module")
def slurm():
    cluster = SlurmCluster(cpus=2).start()
    yield cluster
    cluster.stop()


def bench(cluster: SlurmCluster, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", "bench", *map(str, args), "--executor", "slurm",
                           "-E", "poll_seconds=0.5"], capture_output=True, text=True, cwd=ROOT, env=cluster.env,
                          timeout=timeout)


@pytest.mark.slow
def test_the_smoke_suite_scores_the_same_on_slurm_as_on_local(slurm, tmp_path, local_smoke):
    on_slurm = bench(slurm, SMOKE, "--out", tmp_path / "slurm", "--quiet")
    assert on_slurm.returncode == 0, on_slurm.stderr
    assert scores_by_run(local_smoke) == scores_by_run(tmp_path / "slurm")
    rows = read_rows(tmp_path / "slurm")
    assert {row["executor"] for row in rows} == {"slurm"} and {row["threads"] for row in rows} == {1}
    jobs = json.loads((tmp_path / "slurm" / ".work" / "slurm" / "jobs.json").read_text())
    assert sorted(jobs) == sorted(row["run_id"] for row in rows)
    again = bench(slurm, SMOKE, "--out", tmp_path / "slurm", "--json")  # everything done: nothing submitted
    assert again.returncode == 0 and json.loads(again.stdout)["already_done"] == 3
    assert json.loads((tmp_path / "slurm" / ".work" / "slurm" / "jobs.json").read_text()) == jobs


@pytest.mark.slow
def test_a_job_cancelled_with_scancel_is_resubmitted_by_the_next_bench_and_resumes(slurm, tmp_path):
    suite = tmp_path / "long.toml"
    suite.write_text(TINY_RING.format(steps=2000).replace("checkpoint_every = 10", "checkpoint_every = 200"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), "--executor", "slurm",
               "-E", "poll_seconds=0.5", "--quiet"]
    first = subprocess.Popen(command, cwd=ROOT, env=slurm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoints = out / "runs" / "vanilla-ring-seed0" / "checkpoints"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not list(checkpoints.glob("step-*.safetensors")):
        assert first.poll() is None, first.communicate()
        time.sleep(0.1)
    job_id = json.loads((out / ".work" / "slurm" / "jobs.json").read_text())["vanilla-ring-seed0"]
    subprocess.run(["scancel", job_id], check=True, env=slurm.env, timeout=60)
    _, err = first.communicate(timeout=180)
    assert first.returncode == 0 and "run the bench again to resubmit it" in err, err
    assert read_rows(out) == []

    second = subprocess.run(command, cwd=ROOT, env=slurm.env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    (row,) = read_rows(out)
    assert row["status"] == "ok" and row["step"] == 2000 and row["resumed_from_step"] >= 200
    assert json.loads((out / ".work" / "slurm" / "jobs.json").read_text())["vanilla-ring-seed0"] != job_id
    assert f"resuming from step {row['resumed_from_step']}" in (out / row["log"]).read_text()


@pytest.mark.slow
def test_a_bench_whose_driver_is_killed_gathers_the_jobs_still_running_on_rerun(slurm, tmp_path):
    suite = tmp_path / "two.toml"
    suite.write_text("seeds = [0, 1]\n" + TINY_RING.format(steps=1500).replace("checkpoint_every = 10", "checkpoint_every = 100"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), "--executor", "slurm",
               "-E", "poll_seconds=0.5", "--quiet"]
    first = subprocess.Popen(command, cwd=ROOT, env=slurm.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = out / "runs" / "vanilla-ring-seed0" / "checkpoints"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and not list(checkpoints.glob("step-*.safetensors")):
            assert first.poll() is None, "the bench ended before it could be killed"
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
    finally:
        first.kill()
        first.wait()
    jobs = json.loads((out / ".work" / "slurm" / "jobs.json").read_text())
    queue = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True, env=slurm.env)
    assert set(jobs.values()) <= set(queue.stdout.split())  # the jobs outlive the driver

    second = subprocess.run(command, cwd=ROOT, env=slurm.env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    rows = read_rows(out)
    assert sorted(row["run_id"] for row in rows) == ["vanilla-ring-seed0", "vanilla-ring-seed1"]
    assert all(row["status"] == "ok" and row["step"] == 1500 and row["resumed_from_step"] == 0 for row in rows)
    assert json.loads((out / ".work" / "slurm" / "jobs.json").read_text()) == jobs  # gathered, not resubmitted
    for row in rows:
        assert (out / row["log"]).read_text().count("(attempt started") == 1


def test_slurm_refuses_resources_the_cluster_can_never_grant(slurm, tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20))
    result = bench(slurm, suite, "--out", tmp_path / "out", "-E", "cpus=64", timeout=120)
    assert result.returncode == 2 and "SLURM cannot run a job asking --cpus-per-task=64" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    queue = subprocess.run(["squeue", "-h"], capture_output=True, text=True, env=slurm.env)
    assert queue.stdout.strip() == "" and read_rows(tmp_path / "out") == []


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare(1)")
def test_slurm_refuses_an_output_folder_its_jobs_cannot_see(slurm, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20))
    script = (f"mount -t tmpfs none {private} && exec {sys.executable} -m ganzoo bench {suite} "
              f"--out {private / 'out'} --executor slurm")
    result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                            text=True, env=slurm.env, cwd=ROOT, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "SLURM jobs cannot see the output folder" in result.stderr.strip().splitlines()[-1]
    assert not list(private.iterdir())


def test_slurm_without_its_commands_is_one_line_and_exit_2(tmp_path):
    suite = tmp_path / "tiny.toml"
    suite.write_text(TINY_RING.format(steps=20))
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(tmp_path / "out"),
                             "--executor", "slurm"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 2 and "the slurm executor needs SLURM's sbatch" in result.stderr, result.stderr
    assert read_rows(tmp_path / "out") == []

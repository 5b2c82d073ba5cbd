"""Crash-proof runs: SIGKILL at arbitrary points, SIGINT / SIGTERM, exact resume, failed writes, divergence.

The long test kills one real training process five times (three SIGKILLs, two of them inside a
checkpoint write, then a SIGTERM and a SIGINT), resumes it after each, and checks that it ends
bitwise identical to the same run left alone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from conftest import ROOT, TINY_DCGAN
from ganzoo.errors import Aborted, CheckpointError
from ganzoo.storage.checkpoint import read_checkpoint
from ganzoo.trainer.loop import Diverged

DRIVER = ROOT / "tests" / "crash_driver.py"
TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}
RUN_OPTIONS = {"steps": 60, "batch_size": 8, "checkpoint_every": 4, "log_every": 1, "sample_every": 10,
               "keep_checkpoints": 2, **TINY}

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def make_images(folder: Path, n: int = 24) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def start(*args, stall: int = 0, mark: Path | None = None) -> subprocess.Popen:
    """`ganzoo ARGS` in a fresh process and session (stalling in its ``stall``-th checkpoint write)."""
    env = {**os.environ}
    if stall:
        env.update(GANZOO_TEST_STALL_WRITE=str(stall), GANZOO_TEST_STALL_MARK=str(mark))
    return subprocess.Popen([sys.executable, str(DRIVER), *map(str, args)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"process ended early with code {proc.returncode}: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out waiting for the training process")
        time.sleep(0.005)


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    """Send ``sig`` to the process's whole group, as a terminal's Ctrl-C does (loader workers included)."""
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def logged_step(run: Path) -> int:
    """The step of the last complete line of metrics.jsonl (0 when there is none)."""
    try:
        lines = (run / "metrics.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except ValueError:
            continue
    return 0


def step_files(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("step-*.safetensors"))


def stray_files(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob(".*.tmp"))


def losses(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "time_s"} for r in records]


def assert_bitwise_equal(a: Path, b: Path) -> None:
    ta, tb = read_checkpoint(a).tensors, read_checkpoint(b).tensors
    assert sorted(ta) == sorted(tb)
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


def test_a_run_killed_five_times_ends_bitwise_equal_to_an_uninterrupted_one(tmp_path):
    """Folder data, so the loader's worker processes get every signal too."""
    images = make_images(tmp_path / "images")
    run, mark = tmp_path / "run", tmp_path / "stalled"
    first = ["train", "dcgan", "--dataset", "folder", "--data-root", images, "--out", run, "--quiet",
             *(f"--set={k}={v}" for k, v in RUN_OPTIONS.items())]
    resume = ["train", "--resume", run, "--quiet"]

    # 1. SIGKILL inside the very first checkpoint write: no checkpoint yet, a temp file left behind
    proc = start(*first, stall=1, mark=mark)
    wait_for(mark.exists, proc)
    assert stop(proc, signal.SIGKILL)[0] == -signal.SIGKILL
    assert stray_files(run) and not step_files(run)

    # 2. resuming without a checkpoint starts over in the same directory; SIGKILL at whatever step it reached
    proc = start(*resume)
    wait_for(lambda: logged_step(run) >= 13, proc)  # the killed attempt logged at most step 4
    code, err = stop(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert "has no checkpoint yet (it stopped before the first one); starting it again from step 0" in err

    # 3. SIGKILL inside a later checkpoint write: the checkpoints already there stay intact
    mark.unlink()
    proc = start(*resume, stall=2, mark=mark)
    wait_for(mark.exists, proc)
    assert stop(proc, signal.SIGKILL)[0] == -signal.SIGKILL
    assert stray_files(run) and len(step_files(run)) == 2
    for path in step_files(run):
        assert read_checkpoint(path).step == int(path.stem.split("-")[1])  # digest-verified

    # 4. SIGTERM: saves a checkpoint at the step it reached and exits with 143
    proc = start(*resume)
    wait_for(lambda: logged_step(run) >= 36, proc)  # the last attempt logged at most step 20
    code, err = stop(proc, signal.SIGTERM)
    assert code == 143, err
    first_line, last_line = err.splitlines()
    assert first_line == f"ganzoo: removed 1 unfinished temporary file(s) from {run}"
    assert not stray_files(run)
    found = re.fullmatch(r"ganzoo: stopped by SIGTERM at step (\d+); checkpoint saved to (\S+); continue with: "
                         r"ganzoo train --resume \S+", last_line)
    assert found, err
    assert read_checkpoint(Path(found[2])).step == int(found[1]) >= 36

    # 5. SIGINT (Ctrl-C in a terminal): the same, with 130
    proc = start(*resume)
    wait_for(lambda: logged_step(run) >= 48, proc)
    code, err = stop(proc, signal.SIGINT)
    assert code == 130, err
    assert re.fullmatch(r"ganzoo: stopped by SIGINT at step \d+; checkpoint saved to \S+; continue with: .*\n", err), err

    # 6. the last resume finishes the run; the same run left alone, in this process, is the reference
    proc = start(*resume)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    reference = ganzoo.train("dcgan", dataset="folder", data_root=images, out=tmp_path / "reference", progress=False,
                             **RUN_OPTIONS)

    assert_bitwise_equal(run / "checkpoints/step-00000060.safetensors", reference.checkpoint)
    assert losses(run) == losses(reference.path)  # the log too, step for step
    grid = "samples/step-00000060.png"
    assert (run / grid).read_bytes() == (reference.path / grid).read_bytes()


def test_resume_without_a_checkpoint_starts_over(tmp_path, caplog):
    ganzoo.train("dcgan", steps=4, out=tmp_path / "run", progress=False, **TINY)
    for path in step_files(tmp_path / "run"):  # as if it had been killed before its first checkpoint
        path.unlink()
    (tmp_path / "run" / "checkpoints" / ".step-00000004.safetensors.x1y2.tmp").write_bytes(b"half a checkpoint")
    resumed = ganzoo.train(resume=tmp_path / "run", progress=False)
    assert "starting it again from step 0" in caplog.text
    assert resumed.step == 4 and [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()] == [
        "step-00000004.safetensors"]
    assert [r["step"] for r in losses(tmp_path / "run")] == [4]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name an fsync's file")
def test_a_failed_checkpoint_write_leaves_the_previous_checkpoint_intact(cli, tmp_path, monkeypatch):
    """The disk fills up in the middle of the second checkpoint's write."""
    from ganzoo.storage import checkpoint as checkpoint_module

    real_fsync = os.fsync

    def failing_fsync(fd):
        if ".step-00000008" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(checkpoint_module.os, "fsync", failing_fsync)
    run = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "10", "--out", run, "--quiet", *TINY_DCGAN, "--set", "checkpoint_every=4")
    assert result.code == 2
    first = run / "checkpoints" / "step-00000004.safetensors"
    assert result.err == (f"ganzoo: error: could not write checkpoint {run}/checkpoints/step-00000008.safetensors: "
                          f"No space left on device; {first} is intact\n")
    assert read_checkpoint(first).step == 4
    assert [p.name for p in (run / "checkpoints").iterdir()] == [first.name]  # no temp file left either


def test_a_second_signal_stops_at_once():
    from ganzoo.trainer.loop import _StopFlag

    flag = _StopFlag()
    flag._handle(signal.SIGTERM, None)
    assert flag.signum == signal.SIGTERM
    with pytest.raises(Aborted) as info:
        flag._handle(signal.SIGTERM, None)
    assert info.value.exit_code == 143


def test_a_second_writer_of_the_same_run_is_refused(tmp_path):
    from ganzoo.storage.rundir import RunDir

    ganzoo.train("dcgan", steps=2, out=tmp_path / "run", progress=False, **TINY)
    with RunDir(tmp_path / "run").claimed():
        with pytest.raises(ganzoo.errors.ConfigError, match="in use by another ganzoo process"):
            ganzoo.train(resume=tmp_path / "run", steps=4, progress=False)


# ---- the divergence guard -----------------------------------------------------------------------

def divergent_registry(step_fn):
    from test_trainer import with_spec

    return with_spec(train_step=step_fn)


def nan_weights_at_step(n: int):
    """The normal step, but from step ``n`` on a generator weight is NaN (the logged losses stay finite)."""
    from ganzoo.driver.kstep import LOSS_OBJECTIVE, k_step

    def step(state):
        out = k_step(state, LOSS_OBJECTIVE)
        if state.step + 1 >= n:
            with torch.no_grad():
                weight = next(state.generator.parameters())
                weight[(0,) * weight.dim()] = float("nan")
            out = {key: torch.zeros(()) for key in out}
        return out

    return step


def test_non_finite_weights_stop_the_run_before_they_are_saved(tmp_path):
    registry = divergent_registry(nan_weights_at_step(7))
    with pytest.raises(Diverged) as info:
        ganzoo.train("odd", registry=registry, steps=20, out=tmp_path / "run", progress=False, checkpoint_every=5, **TINY)
    assert str(info.value).startswith(
        "training diverged between step 5 and step 10: generator.net.0.weight is not finite; the last good checkpoint "
        f"{tmp_path}/run/checkpoints/step-00000005.safetensors is kept")
    assert [p.name for p in step_files(tmp_path / "run")] == ["step-00000005.safetensors"]
    assert torch.isfinite(read_checkpoint(step_files(tmp_path / "run")[0]).tensors["generator/net.0.weight"]).all()


def test_a_non_finite_loss_is_caught_at_the_checkpoint_even_between_log_lines(tmp_path):
    from ganzoo.driver.kstep import LOSS_OBJECTIVE, k_step

    def inf_loss_at_step_3(state):
        out = k_step(state, LOSS_OBJECTIVE)
        if state.step == 2:
            out["loss_g"] = torch.tensor(float("inf"))
        return out

    with pytest.raises(Diverged, match=r"^training diverged at step 3: loss_g is not finite; no checkpoint had been saved"):
        ganzoo.train("odd", registry=divergent_registry(inf_loss_at_step_3), steps=20, out=tmp_path / "run",
                     progress=False, checkpoint_every=4, log_every=100, **TINY)
    assert not step_files(tmp_path / "run")


def nan_loss_at_step(n: int):
    from ganzoo.driver.kstep import LOSS_OBJECTIVE, k_step

    def step(state):
        out = k_step(state, LOSS_OBJECTIVE)
        if state.step + 1 == n:
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    return step


def test_divergence_on_the_command_line_is_one_line_with_exit_code_3(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("ganzoo.training.get_registry", lambda: divergent_registry(nan_loss_at_step(7)))
    run = tmp_path / "run"
    result = cli("train", "odd", "--steps", "20", "--out", run, "--quiet", *TINY_DCGAN, "--set", "checkpoint_every=5")
    assert result.code == 3
    kept = run / "checkpoints" / "step-00000005.safetensors"
    assert result.err == (f"ganzoo: error: training diverged at step 7: loss_d is not finite; the last good checkpoint "
                          f"{kept} is kept (continue from it with --resume {run} and, say, lower learning rates)\n")
    assert [p.name for p in step_files(run)] == [kept.name]


def test_resume_refuses_a_checkpoint_it_cannot_verify(cli, tmp_path):
    ganzoo.train("dcgan", steps=4, out=tmp_path / "run", progress=False, checkpoint_every=2, **TINY)
    latest = step_files(tmp_path / "run")[-1]
    data = bytearray(latest.read_bytes())
    data[-100] ^= 0x01  # one flipped bit in the tensor data
    latest.write_bytes(bytes(data))
    result = cli("train", "--resume", tmp_path / "run", "--steps", "6")
    assert result.code == 2
    assert "its checksum does not match its contents" in result.err
    assert latest.read_bytes() == bytes(data)  # nothing overwritten
    with pytest.raises(CheckpointError):
        read_checkpoint(latest)

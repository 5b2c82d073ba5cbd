"""Multi-process training: 2 CPU processes (gloo), rank 0 writes the run, weights stay in step."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

import ganzoo
from ganzoo.storage.checkpoint import read_checkpoint

TINY = {"g_width": 4, "d_width": 4, "latent_dim": 8, "batch_size": 16, "device": "cpu"}
STEPS = 4

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_one_rank(rank: int, world_size: int, port: int, run: Path, weights: Path) -> None:
    """One training process, as torchrun would start it; afterwards it saves its G weights for the test."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)
    from ganzoo.trainer import loop

    finished = {}
    fit = loop.Trainer.fit

    def fit_and_keep(self):
        result = fit(self)
        finished["generator"] = {k: v.detach().clone().contiguous() for k, v in self.state.generator.state_dict().items()}
        return result

    loop.Trainer.fit = fit_and_keep
    ganzoo.train("dcgan", out=run, steps=STEPS, checkpoint_every=2, progress=False, **TINY)
    save_file(finished["generator"], weights / f"rank{rank}.safetensors")


def test_two_processes_train_one_run_written_by_rank_0(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run, weights = tmp_path / "run", tmp_path / "weights"
    weights.mkdir()
    mp.start_processes(train_one_rank, args=(2, free_port(), run, weights), nprocs=2, start_method="spawn")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "weights"]  # rank 1 wrote nothing else
    assert (run / "config.json").is_file() and (run / "metrics.jsonl").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("*.safetensors")) == [
        "step-00000002.safetensors", "step-00000004.safetensors"]
    assert list((run / "samples").iterdir())

    rank0, rank1 = load_file(weights / "rank0.safetensors"), load_file(weights / "rank1.safetensors")
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    saved = read_checkpoint(run / "checkpoints" / "step-00000004.safetensors").module_state("generator")
    assert all(torch.equal(saved[k], rank0[k]) for k in saved)  # plain module names, rank 0's weights

    alone = ganzoo.train("dcgan", out=tmp_path / "alone", steps=STEPS, progress=False, **TINY)
    alone_g = read_checkpoint(alone.checkpoint).module_state("generator")
    assert any(not torch.equal(alone_g[k], saved[k]) for k in saved)  # two shards of data are not one

    resumed = ganzoo.train(resume=run, steps=STEPS + 2, progress=False)  # the 2-process run, in 1 process
    assert resumed.step == STEPS + 2 and resumed.checkpoint.name == "step-00000006.safetensors"


def test_torchrun_runs_the_cli(tmp_path):
    """`torchrun --nproc-per-node 2 -m ganzoo train ...`, the documented command."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
           "-m", "ganzoo", "train", "dcgan", "--steps", "2", "--batch-size", "16", "--device", "cpu", "--quiet",
           "--out", str(tmp_path / "run"), "--set", "g_width=4", "--set", "d_width=4", "--set", "latent_dim=8"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "checkpoints" / "step-00000002.safetensors").is_file()
    assert done.stdout.count("run: ") == 2  # both processes finished the same run

"""The shared trainer: run directory, logs, checkpoints, resume, sampling, divergence guard."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from PIL import Image

import ganzoo
from conftest import TINY_DCGAN, TINY_VANILLA, run_ganzoo
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry, Source
from ganzoo.storage.checkpoint import read_checkpoint
from ganzoo.trainer.loop import Diverged

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}


def metrics(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_a_complete_run_directory(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "dcgan", "--steps", "40", "--out", out, "--quiet", *TINY_DCGAN,
                 "--set", "log_every=10", "--set", "checkpoint_every=20", "--set", "sample_every=20")
    assert result.code == 0, result.err
    assert f"run: {out} (step 40)" in result.out
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "dcgan" and config["config"]["data"]["dataset"] == "digits"
    assert config["config"]["trainer"]["steps"] == 40 and config["config"]["model"]["g_width"] == 8
    assert config["data_info"]["shape"] == [1, 32, 32]
    assert [r["step"] for r in metrics(out)] == [10, 20, 30, 40]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "time_s"} <= set(metrics(out)[-1])
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000020.safetensors", "step-00000040.safetensors"]
    grid = Image.open(out / "samples" / "step-00000040.png")
    assert grid.size == (8 * 34 + 2, 8 * 34 + 2)  # 64 samples, 8 per row, 32 px + 2 px padding
    checkpoint = read_checkpoint(out / "checkpoints" / "step-00000040.safetensors")
    assert checkpoint.step == 40 and checkpoint.config["model"]["g_width"] == 8
    assert any(k.startswith("optim/generator/") for k in checkpoint.tensors)


def test_resume_continues_at_the_next_step_and_the_log_continues(cli, tmp_path):
    out = tmp_path / "run"
    base = ["--quiet", *TINY_DCGAN, "--set", "log_every=1", "--set", "checkpoint_every=40"]
    assert cli("train", "dcgan", "--steps", "40", "--out", out, *base).code == 0
    resumed = cli("train", "--resume", out, "--steps", "80", "--quiet")
    assert resumed.code == 0, resumed.err
    steps = [r["step"] for r in metrics(out)]
    assert steps == list(range(1, 81))
    assert json.loads((out / "config.json").read_text())["config"]["trainer"]["steps"] == 80
    assert (out / "checkpoints" / "step-00000080.safetensors").is_file()


def test_resumed_run_is_bitwise_identical_to_an_uninterrupted_one(tmp_path):
    straight = ganzoo.train("dcgan", steps=30, out=tmp_path / "a", progress=False, **TINY)
    ganzoo.train("dcgan", steps=12, out=tmp_path / "b", progress=False, **TINY)
    ganzoo.train(resume=tmp_path / "b", steps=30, progress=False)
    a = read_checkpoint(straight.checkpoint).tensors
    b = read_checkpoint(tmp_path / "b" / "checkpoints" / "step-00000030.safetensors").tensors
    model_keys = [k for k in a if k.startswith(("generator/", "discriminator/", "optim/"))]
    assert model_keys and all(torch.equal(a[k], b[k]) for k in model_keys)


def test_sampling_from_a_checkpoint_in_a_fresh_process(tmp_path):
    result = ganzoo.train("dcgan", steps=5, out=tmp_path / "run", progress=False, **TINY)
    png = tmp_path / "samples.png"
    done = run_ganzoo("sample", result.checkpoint, "-n", "16", "--out", png, "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert Image.open(png).size == (4 * 34 + 2, 4 * 34 + 2)


def test_load_returns_a_plain_torch_generator(tmp_path):
    ganzoo.train("dcgan", steps=3, out=tmp_path / "run", progress=False, **TINY)
    G = ganzoo.load(tmp_path / "run")
    assert isinstance(G, torch.nn.Module) and not G.training
    with torch.no_grad():
        images = G(torch.randn(4, G.latent_dim))
    assert images.shape == (4, 1, 32, 32) and images.abs().max() <= 1
    again = ganzoo.sample(tmp_path / "run", 4, seed=1)
    assert torch.equal(again, ganzoo.sample(tmp_path / "run", 4, seed=1))


def test_vanilla_trains_on_digits_and_on_points(cli, tmp_path):
    result = cli("train", "vanilla", "--steps", "20", "--out", tmp_path / "digits", "--quiet", *TINY_VANILLA)
    assert result.code == 0, result.err
    assert (tmp_path / "digits" / "samples" / "step-00000020.png").is_file()
    result = cli("train", "vanilla", "--dataset", "ring", "--steps", "20", "--out", tmp_path / "ring", "--quiet",
                 *TINY_VANILLA)
    assert result.code == 0, result.err
    assert (tmp_path / "ring" / "samples" / "step-00000020.png").is_file()


def test_k_discriminator_steps_draw_k_batches_per_generator_step(tmp_path):
    run = ganzoo.train("vanilla", steps=4, d_steps=3, out=tmp_path / "run", progress=False,
                       g_hidden=16, d_hidden=8, latent_dim=4)
    assert read_checkpoint(run.checkpoint).meta["batches_drawn"] == 12


def with_spec(**changes) -> Registry:
    """A registry holding a modified dcgan spec (for trainer tests of odd behaviour)."""
    base = get_registry()
    registry = Registry()
    source = Source("test", "tests", "0")
    registry.models.add("odd", dataclasses.replace(base.model("dcgan"), name="odd", **changes), source)
    for entry in base.losses:
        registry.losses.add(entry.name, entry.value, source)
    for entry in base.datasets:
        registry.datasets.add(entry.name, entry.value, source)
    return registry


def test_non_finite_loss_stops_the_run_naming_the_step_and_keeps_the_checkpoint(tmp_path):
    from ganzoo.driver.kstep import LOSS_OBJECTIVE, k_step

    def explode_at_step_7(state):
        out = k_step(state, LOSS_OBJECTIVE)
        if state.step == 6:  # the 7th step
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    registry = with_spec(train_step=explode_at_step_7)
    with pytest.raises(Diverged, match=r"diverged at step 7: loss_d is not finite.*step-00000005"):
        ganzoo.train("odd", registry=registry, steps=20, out=tmp_path / "run", progress=False,
                     log_every=10, checkpoint_every=5, **TINY)
    assert [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()] == ["step-00000005.safetensors"]


def test_custom_phases_run_in_order_with_one_step_counter(tmp_path):
    from ganzoo.spec import Phase

    seen = []

    def step(name):
        def run(state):
            seen.append((name, state.step))
            return {"x": torch.tensor(1.0)}
        return run

    registry = with_spec(phases=lambda hp: [Phase("warmup", 2, step("warmup")), Phase("main", 3, step("main"))])
    result = ganzoo.train("odd", registry=registry, out=tmp_path / "run", progress=False, **TINY)
    assert seen == [("warmup", 0), ("warmup", 1), ("main", 2), ("main", 3), ("main", 4)]
    assert result.step == 5
    assert [r["phase"] for r in metrics(tmp_path / "run")] == ["warmup", "main"]


@pytest.mark.parametrize("bf16_hardware", [True, False])
def test_auto_precision_is_bf16_only_for_convolutional_models_on_bf16_hardware(bf16_hardware, monkeypatch, tmp_path):
    from ganzoo.driver import precision

    monkeypatch.setattr(precision, "has_bf16_units", lambda device: bf16_hardware)
    tiny_conv = {"g_width": 8, "d_width": 8, "latent_dim": 16, "device": "cpu"}
    conv = ganzoo.train("dcgan", steps=1, out=tmp_path / "conv", progress=False, **tiny_conv)
    mlp = ganzoo.train("vanilla", dataset="ring", steps=1, out=tmp_path / "mlp", progress=False,
                       g_hidden=32, d_hidden=16, latent_dim=8, device="cpu")
    stored = [json.loads((run.path / "config.json").read_text())["config"]["trainer"]["precision"]
              for run in (conv, mlp)]
    assert stored == ["bf16" if bf16_hardware else "fp32", "fp32"]
    assert read_checkpoint(conv.checkpoint).config["trainer"]["precision"] == stored[0]  # a resume keeps what ran

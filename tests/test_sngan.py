"""SN-GAN (Miyato et al. 2018): the ResNet networks' shapes, spectral norm on every layer of D, the
paper's training defaults, a few training steps, ``ganzoo check`` and a bitwise exact resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn.utils import parametrize

import ganzoo
from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.spec import BuildContext
from ganzoo_sngan import SPEC
from ganzoo_sngan.nets import DownBlock, OptimizedBlock, UpBlock

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16}
TINY_CLI = [arg for k, v in TINY.items() for arg in ("--set", f"{k}={v}")]


pytestmark = pytest.mark.usefixtures("private_cache")


def build(shape, **hparams):
    torch.manual_seed(0)
    ctx = BuildContext(DataInfo("image", shape), {**SPEC.default_options(), **TINY, **hparams})
    return SPEC.build_generator(ctx), SPEC.build_discriminator(ctx)


def normalised_layers(D: nn.Module) -> list[nn.Module]:
    return [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (3, 8, 8), (1, 64, 64)])
def test_generator_and_discriminator_make_and_judge_the_data_shape(shape):
    G, D = build(shape)
    assert G.output_shape == shape and G.latent_dim == 16
    images = G.sample(5)
    assert images.shape == (5, *shape) and images.abs().max() <= 1 and images.std() > 0  # tanh output
    logits = D(images)
    assert logits.shape == (5,) and torch.isfinite(logits).all()
    assert D(torch.rand(5, *shape) * 2 - 1).shape == (5,)
    assert sum(isinstance(m, UpBlock) for m in G.modules()) == int(math.log2(shape[1] // 4))


def test_the_cifar10_resnets_of_the_paper_at_32x32():
    G, D = build((3, 32, 32))
    assert len(G.blocks) == 3 and all(isinstance(b, UpBlock) for b in G.blocks)
    assert isinstance(G.norm, nn.BatchNorm2d) and G.to_image.kernel_size == (3, 3)
    assert G.linear.out_features == 4 * 4 * TINY["g_width"]
    assert [type(b) for b in D.blocks] == [OptimizedBlock, DownBlock, DownBlock, DownBlock]
    assert [b.downsample for b in D.blocks[1:]] == [True, False, False]
    assert D.blocks[2].shortcut is None and D.blocks[3].shortcut is None  # identity shortcuts without downsampling
    assert D.blocks[1].shortcut.kernel_size == (1, 1) and D.linear.out_features == 1
    h = D.blocks(torch.zeros(2, 3, 32, 32))
    assert h.shape == (2, TINY["d_width"], 8, 8)
    assert not any(parametrize.is_parametrized(m) for m in G.modules())  # SN in D only, as in the paper


def test_the_paper_widths_build_and_the_cpu_defaults_are_narrower():
    defaults = SPEC.default_options()
    assert defaults["latent_dim"] == 128 and defaults["g_width"] < 256 and defaults["d_width"] < 128
    G, D = build((3, 32, 32), g_width=256, d_width=128, latent_dim=128)
    assert G.blocks[0].conv1.out_channels == 256 and D.blocks[0].conv1.out_channels == 128


def test_xavier_init_with_gain_sqrt2_inside_residual_branches():
    G, _ = build((3, 32, 32), g_width=64)
    w = G.blocks[1].conv1.weight  # 64 -> 64, 3x3: fan in = fan out = 576
    bound = math.sqrt(2) * math.sqrt(6 / (2 * 64 * 9))
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    shortcut = G.blocks[1].shortcut.weight
    assert shortcut.abs().max() <= math.sqrt(6 / (2 * 64)) and torch.all(G.blocks[1].shortcut.bias == 0)


def test_every_conv_and_linear_of_d_is_spectrally_normalised():
    _, D = build((1, 32, 32), d_width=32)
    layers = normalised_layers(D)
    assert len(layers) == 11  # optimised block 3, down block 3, two plain blocks 2 each, the final linear
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    D.train()
    with torch.no_grad():
        for _ in range(5):  # each forward in training mode runs one power iteration per layer
            D(torch.randn(4, 1, 32, 32))
        sigmas = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in layers]
        raw = [torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), ord=2).item() for m in layers]
    assert all(abs(s - 1) < 0.05 for s in sigmas), sigmas  # measured by SVD, not by the power iteration's estimate
    assert any(abs(r - 1) > 0.2 for r in raw)  # the raw weights are not unit-norm themselves


@pytest.mark.parametrize("shape,message", [
    ((1, 48, 48), "sngan needs a square image side that is a power of two, at least 8; got 48"),
    ((1, 4, 4), "sngan needs a square image side that is a power of two, at least 8; got 4"),
    ((1, 32, 16), "sngan needs square images, got 32x16"),
])
def test_shapes_it_cannot_make_are_one_clear_error(shape, message):
    with pytest.raises(ConfigError, match=message):
        build(shape)


def test_the_papers_training_setting_is_the_default(cli):
    defaults = json.loads(cli("info", "sngan", "--json").out)["defaults"]
    assert defaults["loss"] == "hinge" and defaults["d_steps"] == 5
    assert defaults["lr_g"] == defaults["lr_d"] == 2e-4 and list(defaults["betas"]) == [0.0, 0.9]
    assert defaults["batch_size"] == 64 and defaults["image_size"] == 32
    assert "Miyato" in SPEC.paper and "1802.05957" in SPEC.paper


def test_trains_a_few_steps_on_digits_through_the_cli(cli, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "sngan", "--dataset", "digits", "--steps", "3", "--batch-size", "16", "--out", out,
                 "--quiet", "--set", "log_every=1", *TINY_CLI)
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert all(math.isfinite(r["loss_d"]) and math.isfinite(r["loss_g"]) for r in rows)
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["trainer"]["loss"] == "hinge" and config["trainer"]["d_steps"] == 5
    G = ganzoo.load(out)
    with torch.no_grad():
        assert G.sample(4).shape == (4, 1, 32, 32)


def test_ganzoo_check_passes():
    report = ganzoo.check("sngan", device="cpu", **TINY)
    assert report.ok, [(f.check, f.status, f.message) for f in report.findings]


def test_resume_is_bitwise_identical_with_the_spectral_norm_state(tmp_path):
    tiny = {**TINY, "g_width": 4, "d_width": 4, "batch_size": 16}
    ganzoo.train("sngan", steps=4, out=tmp_path / "a", progress=False, **tiny)
    ganzoo.train("sngan", steps=2, out=tmp_path / "b", progress=False, **tiny)
    ganzoo.train(resume=tmp_path / "b", steps=4, progress=False)
    a, b = (load_file(str(tmp_path / run / "checkpoints" / "step-00000004.safetensors")) for run in ("a", "b"))
    assert any("_u" in key for key in a)  # the power-iteration vectors are checkpointed
    assert any(key.startswith("optim/") for key in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

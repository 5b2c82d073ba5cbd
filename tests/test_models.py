"""The built-in variants' networks: declared shapes, the papers' initialisation, batch-norm placement."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.spec import BuildContext
from ganzoo_dcgan import SPEC as DCGAN
from ganzoo_vanilla import SPEC as VANILLA


def context(spec, shape, modality="image", **hparams):
    return BuildContext(DataInfo(modality, shape), {**spec.default_options(), **hparams})


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [32, 64])
def test_dcgan_produces_and_judges_its_declared_shape(channels, size):
    ctx = context(DCGAN, (channels, size, size), g_width=8, d_width=8)
    G, D = DCGAN.build_generator(ctx), DCGAN.build_discriminator(ctx)
    assert G.output_shape == (channels, size, size)
    images = G.sample(3)
    assert images.shape == (3, channels, size, size) and images.abs().max() <= 1
    assert D(images).shape == (3,)


def test_dcgan_follows_radford_et_al():
    ctx = context(DCGAN, (3, 64, 64))
    G, D = DCGAN.build_generator(ctx), DCGAN.build_discriminator(ctx)
    convs = [m for m in [*G.modules(), *D.modules()] if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.05)
    g_layers, d_layers = list(G.net), list(D.net)
    assert isinstance(g_layers[-1], nn.Tanh) and not isinstance(g_layers[-2], nn.BatchNorm2d)  # no BN at G output
    assert isinstance(d_layers[1], nn.LeakyReLU) and d_layers[1].negative_slope == 0.2  # no BN at D input
    assert sum(isinstance(m, nn.ReLU) for m in g_layers) == 4  # 64x64: 4x4 -> 8 -> 16 -> 32 (ReLU), -> 64 (tanh)
    assert DCGAN.overrides["lr_g"] == 2e-4 and DCGAN.overrides["betas"][0] == 0.5


@pytest.mark.parametrize("shape", [(1, 48, 48), (1, 32, 16), (2, 32, 32)])
def test_dcgan_refuses_shapes_it_cannot_make(shape):
    with pytest.raises(ConfigError):
        DCGAN.build_generator(context(DCGAN, shape))


@pytest.mark.parametrize("shape,modality", [((1, 32, 32), "image"), ((2,), "points")])
def test_vanilla_on_images_and_points(shape, modality):
    ctx = context(VANILLA, shape, modality, g_hidden=32, d_hidden=16)
    G, D = VANILLA.build_generator(ctx), VANILLA.build_discriminator(ctx)
    samples = G.sample(5)
    assert samples.shape == (5, *shape) and D(samples).shape == (5,)
    if modality == "image":
        assert samples.abs().max() <= 1  # tanh output for images in [-1, 1]


def test_vanilla_discriminator_uses_maxout_and_dropout():
    from ganzoo_vanilla.models import Maxout

    D = VANILLA.build_discriminator(context(VANILLA, (1, 32, 32)))
    assert sum(isinstance(m, Maxout) for m in D.modules()) == 2
    assert any(isinstance(m, nn.Dropout) for m in D.modules())
    D.train()
    x = torch.randn(4, 1, 32, 32)
    assert not torch.equal(D(x), D(x))  # dropout active in training
    D.eval()
    assert torch.equal(D(x), D(x))

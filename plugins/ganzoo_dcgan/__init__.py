"""ganzoo plugin: DCGAN (Radford et al. 2015)."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
from ganzoo_dcgan.models import build_discriminator, build_generator

SPEC = ModelSpec(
    name="dcgan",
    description="Deep convolutional GAN: strided convolutions, batch norm, ReLU/tanh G, LeakyReLU D",
    paper="Radford, Metz & Chintala 2015, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)",
    modality="image",
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    defaults={
        "latent_dim": 100,
        "g_width": 64,
        "d_width": 64,
        "image_size": 32,
        "steps": 1500,
        "batch_size": 64,
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": (0.5, 0.999),
    },
    bounds={"latent_dim": (1, 4096), "g_width": (1, 1024), "d_width": (1, 1024)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

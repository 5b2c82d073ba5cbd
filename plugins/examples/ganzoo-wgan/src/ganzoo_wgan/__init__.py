"""ganzoo plugin: WGAN-GP (Gulrajani et al. 2017) and three losses any image variant can use.

A third-party distribution that uses only ganzoo's public plugin API: hooks from
``ganzoo.hookspecs``, specs and base classes from ``ganzoo.spec``, the step helpers of
``ganzoo.trainer``. Install it with ``pip install plugins/examples/ganzoo-wgan``.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
from ganzoo_wgan.losses import LSGAN, WASSERSTEIN
from ganzoo_wgan.models import build_critic, build_generator
from ganzoo_wgan.step import wgan_gp_step

SPEC = ModelSpec(
    name="wgan-gp",
    description="Wasserstein GAN with gradient penalty: layer-norm critic, 5 critic steps per G step",
    paper="Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)",
    modality="image",
    build_generator=build_generator,
    build_discriminator=build_critic,
    train_step=wgan_gp_step,
    defaults={
        "latent_dim": 128,
        "g_width": 32,
        "d_width": 32,
        "gp_weight": 10.0,
        "image_size": 32,
        "loss": "wasserstein",
        "d_steps": 5,
        "steps": 1000,
        "batch_size": 64,
        "lr_g": 1e-4,
        "lr_d": 1e-4,
        "betas": (0.0, 0.9),
    },
    bounds={"latent_dim": (1, 4096), "g_width": (1, 1024), "d_width": (1, 1024), "gp_weight": (0.0, None)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)


@hookimpl
def register_losses(register: Callable) -> None:
    register(WASSERSTEIN)
    register(LSGAN)

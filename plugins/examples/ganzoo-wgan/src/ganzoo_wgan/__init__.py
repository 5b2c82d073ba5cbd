"""ganzoo plugin: WGAN-GP (Gulrajani et al. 2017) and three losses any image variant can use.

A third-party distribution that uses only ganzoo's plugin API module, ``ganzoo.plugin``: the
hook marker, the spec and network base classes, and the shared driver's ``Objective``.
Install it with ``pip install plugins/examples/ganzoo-wgan``.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import ModelSpec, Option, hookimpl
from ganzoo_wgan.losses import LSGAN, WASSERSTEIN
from ganzoo_wgan.models import build_critic, build_generator
from ganzoo_wgan.objective import WGANGPObjective

SPEC = ModelSpec(
    name="wgan-gp",
    description="Wasserstein GAN with gradient penalty: layer-norm critic, 5 critic steps per G step",
    paper="Gulrajani et al. 2017, Improved Training of Wasserstein GANs (arXiv:1704.00028)",
    modality="image",
    build_generator=build_generator,
    build_discriminator=build_critic,
    objective=WGANGPObjective(),
    options={
        "latent_dim": Option(128, "size of z", 1, 4096),
        "g_width": Option(32, "channels of G's last hidden layer", 1, 1024),
        "d_width": Option(32, "channels of the critic's first layer", 1, 1024),
        "gp_weight": Option(10.0, "lambda: weight of the gradient penalty", 0.0, None),
    },
    overrides={"image_size": 32, "loss": "wasserstein", "d_steps": 5, "steps": 1000, "batch_size": 64, "lr_g": 1e-4,
               "lr_d": 1e-4, "betas": (0.0, 0.9)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)


@hookimpl
def register_losses(register: Callable) -> None:
    register(WASSERSTEIN)
    register(LSGAN)

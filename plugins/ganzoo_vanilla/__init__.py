"""ganzoo plugin: the vanilla GAN of Goodfellow et al. 2014 (MLP generator and discriminator)."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
from ganzoo_vanilla.models import build_discriminator, build_generator

SPEC = ModelSpec(
    name="vanilla",
    description="MLP GAN: ReLU generator, maxout + dropout discriminator, k D-steps per G-step",
    paper="Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)",
    modality=("image", "points"),
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    defaults={
        "latent_dim": 100,
        "g_hidden": 1200,
        "d_hidden": 240,
        "maxout_pieces": 5,
        "dropout": 0.5,
        "steps": 3000,
        "batch_size": 100,
        "d_steps": 1,
    },
    bounds={
        "latent_dim": (1, 4096),
        "g_hidden": (1, 16384),
        "d_hidden": (1, 16384),
        "maxout_pieces": (1, 16),
        "dropout": (0.0, 0.95),
    },
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

"""ganzoo plugin: the vanilla GAN of Goodfellow et al. 2014 (MLP generator and discriminator)."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import ModelSpec, Option, hookimpl
from ganzoo_vanilla.models import build_discriminator, build_generator

SPEC = ModelSpec(
    name="vanilla",
    description="MLP GAN: ReLU generator, maxout + dropout discriminator, k D-steps per G-step",
    paper="Goodfellow et al. 2014, Generative Adversarial Nets (arXiv:1406.2661)",
    modality=("image", "points"),
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "g_hidden": Option(1200, "units of each of G's two ReLU layers", 1, 16384),
        "d_hidden": Option(240, "units of each of D's two maxout layers", 1, 16384),
        "maxout_pieces": Option(5, "linear pieces per maxout unit", 1, 16),
        "dropout": Option(0.5, "dropout after D's maxout layers (its input gets at most 0.2)", 0.0, 0.95),
    },
    overrides={"steps": 3000, "batch_size": 100, "d_steps": 1},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

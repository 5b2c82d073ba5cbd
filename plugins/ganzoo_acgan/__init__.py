"""ganzoo plugin: AC-GAN (Odena, Olah & Shlens 2017), a GAN whose discriminator also classifies."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
from ganzoo_acgan.models import build_discriminator, build_generator
from ganzoo_acgan.step import acgan_step

SPEC = ModelSpec(
    name="acgan",
    description="Auxiliary-classifier GAN: D also predicts the class; both players add its cross-entropy",
    paper="Odena, Olah & Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs (arXiv:1610.09585)",
    modality="image",
    conditional=True,
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    train_step=acgan_step,
    defaults={
        "latent_dim": 100,
        "embed_dim": 10,
        "g_width": 32,
        "d_width": 32,
        "image_size": 32,
        "class_weight": 1.0,
        "classify_fakes": False,
        "steps": 1500,
        "batch_size": 64,
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": (0.5, 0.999),
    },
    bounds={"latent_dim": (1, 4096), "embed_dim": (1, 1024), "g_width": (1, 1024), "d_width": (1, 1024),
            "class_weight": (0.0, None)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

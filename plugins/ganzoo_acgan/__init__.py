"""ganzoo plugin: AC-GAN (Odena, Olah & Shlens 2017), a GAN whose discriminator also classifies."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import ModelSpec, Option, hookimpl
from ganzoo_acgan.models import build_discriminator, build_generator
from ganzoo_acgan.objective import ACGANObjective

SPEC = ModelSpec(
    name="acgan",
    description="Auxiliary-classifier GAN: D also predicts the class; both players add its cross-entropy",
    paper="Odena, Olah & Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs (arXiv:1610.09585)",
    modality="image",
    conditional=True,
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    objective=ACGANObjective(),
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "embed_dim": Option(10, "size of G's label embedding", 1, 1024),
        "g_width": Option(32, "channels of G's last hidden layer", 1, 1024),
        "d_width": Option(32, "channels of D's first layer", 1, 1024),
        "class_weight": Option(1.0, "weight of the class cross-entropy in both players' losses", 0.0, None),
        "classify_fakes": Option(False, "D also learns to classify generated samples (the paper's L_C on fakes)"),
    },
    overrides={"image_size": 32, "steps": 1500, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

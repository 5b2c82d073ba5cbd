"""ganzoo plugin: the projection discriminator cGAN (Miyato & Koyama 2018)."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import ModelSpec, Option, hookimpl
from ganzoo_projection.models import build_discriminator, build_generator

SPEC = ModelSpec(
    name="projection",
    description="cGAN with a projection discriminator (spectral norm, <embed(y), phi(x)>) and conditional batch norm in G",
    paper="Miyato & Koyama 2018, cGANs with Projection Discriminator (arXiv:1802.05637); "
          "spectral normalisation: Miyato et al. 2018 (arXiv:1802.05957)",
    modality="image",
    conditional=True,
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "g_width": Option(32, "channels of G's last hidden layer", 1, 1024),
        "d_width": Option(32, "channels of D's first layer", 1, 1024),
    },
    overrides={"image_size": 32, "loss": "hinge", "steps": 3000, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
               "betas": (0.5, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

"""ganzoo plugin: the projection discriminator cGAN (Miyato & Koyama 2018)."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
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
    defaults={
        "latent_dim": 100,
        "g_width": 32,
        "d_width": 32,
        "image_size": 32,
        "loss": "hinge",
        "steps": 3000,
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

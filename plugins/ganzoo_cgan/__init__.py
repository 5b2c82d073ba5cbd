"""ganzoo plugin: conditional GANs (Mirza & Osindero 2014), in two forms.

``cgan``: the paper's MLP networks, a label embedding concatenated to G's latent and D's input.
``cgan-conv``: the same conditioning on DCGAN networks (label maps as extra D input channels).
They are two names rather than one with an ``arch`` switch because their hyper-parameters
differ (hidden units and maxout pieces vs. convolution widths) and each keeps its own defaults.
The MLP form makes 16x16 images by default: on digits (8x8 scans) an MLP at 32x32 draws the
right digits but keeps a pixel speckle that a classifier misreads (docs/conditional.md).
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import ModelSpec
from ganzoo_cgan import models

PAPER = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets (arXiv:1411.1784)"

CGAN = ModelSpec(
    name="cgan",
    description="Conditional GAN, MLP form: label embedding concatenated to z in G and to the pixels in D",
    paper=PAPER,
    modality="image",
    conditional=True,
    build_generator=models.build_mlp_generator,
    build_discriminator=models.build_mlp_discriminator,
    defaults={
        "latent_dim": 100,
        "embed_dim": 16,
        "g_hidden": 1024,
        "d_hidden": 256,
        "maxout_pieces": 5,
        "dropout": 0.5,
        "input_dropout": 0.0,
        "image_size": 16,
        "steps": 3000,
        "batch_size": 100,
    },
    bounds={
        "latent_dim": (1, 4096),
        "embed_dim": (1, 1024),
        "g_hidden": (1, 16384),
        "d_hidden": (1, 16384),
        "maxout_pieces": (1, 16),
        "dropout": (0.0, 0.95),
        "input_dropout": (0.0, 0.95),
    },
)

CGAN_CONV = ModelSpec(
    name="cgan-conv",
    description="Conditional GAN, DCGAN form: label embedding concatenated to z in G and as input maps in D",
    paper=PAPER + "; networks of Radford et al. 2015 (DCGAN)",
    modality="image",
    conditional=True,
    build_generator=models.build_conv_generator,
    build_discriminator=models.build_conv_discriminator,
    defaults={
        "latent_dim": 100,
        "embed_dim": 10,
        "g_width": 32,
        "d_width": 32,
        "image_size": 32,
        "steps": 3000,
        "batch_size": 64,
        "lr_g": 2e-4,
        "lr_d": 2e-4,
        "betas": (0.5, 0.999),
    },
    bounds={"latent_dim": (1, 4096), "embed_dim": (1, 1024), "g_width": (1, 1024), "d_width": (1, 1024)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(CGAN)
    register(CGAN_CONV)

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

from ganzoo.plugin import ModelSpec, Option, hookimpl
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
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "embed_dim": Option(16, "size of the label embedding (in G and D)", 1, 1024),
        "g_hidden": Option(1024, "units of each of G's two ReLU layers", 1, 16384),
        "d_hidden": Option(256, "units of each of D's two maxout layers", 1, 16384),
        "maxout_pieces": Option(5, "linear pieces per maxout unit", 1, 16),
        "dropout": Option(0.5, "dropout after D's maxout layers", 0.0, 0.95),
        "input_dropout": Option(0.0, "dropout on D's pixel input", 0.0, 0.95),
    },
    overrides={"image_size": 16, "steps": 3000, "batch_size": 100},
)

CGAN_CONV = ModelSpec(
    name="cgan-conv",
    description="Conditional GAN, DCGAN form: label embedding concatenated to z in G and as input maps in D",
    paper=PAPER + "; networks of Radford et al. 2015 (DCGAN)",
    modality="image",
    conditional=True,
    build_generator=models.build_conv_generator,
    build_discriminator=models.build_conv_discriminator,
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "embed_dim": Option(10, "size of the label embedding (G's extra latent, D's extra input maps)", 1, 1024),
        "g_width": Option(32, "channels of G's last hidden layer", 1, 1024),
        "d_width": Option(32, "channels of D's first layer", 1, 1024),
    },
    overrides={"image_size": 32, "steps": 3000, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(CGAN)
    register(CGAN_CONV)

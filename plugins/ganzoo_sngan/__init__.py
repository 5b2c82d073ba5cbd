"""ganzoo plugin: SN-GAN (Miyato et al. 2018), the ResNet G and spectrally normalised ResNet D of its CIFAR-10 runs.

Trained as the paper's CIFAR-10 ResNet setting: hinge loss, 5 D steps per G step, Adam 2e-4 with
betas (0, 0.9), batches of 64. The networks are those of the paper at 32x32 (see
:mod:`ganzoo_sngan.nets`), narrower by default so that a run fits a CPU: ``g_width`` 64 and
``d_width`` 32 here, a quarter of the paper's 256 and 128 (G twice as wide as D, as there;
``--set g_width=256 --set d_width=128`` gives the paper's sizes).
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import BuildContext, ModelSpec, Option, hookimpl, square_image_shape
from ganzoo_sngan.nets import ResNetDiscriminator, ResNetGenerator


def build_generator(ctx: BuildContext) -> ResNetGenerator:
    channels, size = square_image_shape(ctx.data, "sngan", sizes=None, channels=None)
    return ResNetGenerator(ctx["latent_dim"], channels, size, ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> ResNetDiscriminator:
    channels, size = square_image_shape(ctx.data, "sngan", sizes=None, channels=None)
    return ResNetDiscriminator(channels, size, ctx["d_width"])


SPEC = ModelSpec(
    name="sngan",
    description="SN-GAN: ResNet G, ResNet D with spectral norm on every layer, hinge loss, 5 D steps per G step",
    paper="Miyato, Kataoka, Koyama & Yoshida 2018, Spectral Normalization for Generative Adversarial Networks "
          "(arXiv:1802.05957, ICLR 2018); the CIFAR-10 ResNet networks",
    modality="image",
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    options={
        "latent_dim": Option(128, "size of z", 1, 4096),
        "g_width": Option(64, "channels of every G block (the paper: 256; 64 by default for CPUs)", 1, 1024),
        "d_width": Option(32, "channels of every D block (the paper: 128; 32 by default for CPUs)", 1, 1024),
    },
    overrides={"image_size": 32, "loss": "hinge", "d_steps": 5, "steps": 1000, "batch_size": 64,
               "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.0, 0.9)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

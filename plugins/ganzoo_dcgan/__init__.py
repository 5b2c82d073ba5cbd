"""ganzoo plugin: DCGAN (Radford et al. 2015). The networks are ganzoo's shared DCGAN stacks."""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import BuildContext, DCGANDiscriminator, DCGANGenerator, ModelSpec, Option, hookimpl, square_image_shape


def build_generator(ctx: BuildContext) -> DCGANGenerator:
    channels, size = square_image_shape(ctx.data, "dcgan")
    return DCGANGenerator(ctx["latent_dim"], channels, size, ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> DCGANDiscriminator:
    channels, size = square_image_shape(ctx.data, "dcgan")
    return DCGANDiscriminator(channels, size, ctx["d_width"])


SPEC = ModelSpec(
    name="dcgan",
    description="Deep convolutional GAN: strided convolutions, batch norm, ReLU/tanh G, LeakyReLU D",
    paper="Radford, Metz & Chintala 2015, Unsupervised Representation Learning with DCGANs (arXiv:1511.06434)",
    modality="image",
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    options={
        "latent_dim": Option(100, "size of z", 1, 4096),
        "g_width": Option(64, "channels of G's last hidden layer (doubling towards the input)", 1, 1024),
        "d_width": Option(64, "channels of D's first layer (doubling towards the output)", 1, 1024),
    },
    overrides={"image_size": 32, "steps": 1500, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

"""Conditional GAN networks (Mirza & Osindero 2014): a learned label embedding is concatenated
to the generator's latent input and to the discriminator's input.

MLP form (the paper's): G gets [z, e(y)] and runs the vanilla GAN's ReLU MLP; D gets
[flattened x, e(y)] and runs the vanilla GAN's maxout MLP with dropout.
Convolutional form: ganzoo's shared DCGAN networks; G gets [z, e(y)] as its latent,
D gets e(y) broadcast to extra input channels (one map per embedding unit).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.plugin import (
    BuildContext,
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    Discriminator,
    Generator,
    Maxout,
    square_image_shape,
)


def require_labels(labels: Tensor | None, who: str) -> Tensor:
    """Conditional networks cannot run without labels; say so instead of failing inside a layer."""
    if labels is None:
        raise ValueError(f"{who} is conditional: pass class labels")
    return labels


class MLPConditionalGenerator(Generator):
    """[z, e(y)] -> ReLU MLP -> samples (B, *shape), tanh-bounded for images."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], num_classes: int, embed_dim: int, hidden: int) -> None:
        super().__init__(latent_dim, shape, num_classes)
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.net = nn.Sequential(
            nn.Linear(latent_dim + embed_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(shape)), nn.Tanh(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        labels = require_labels(labels, "cgan's generator")
        return self.net(torch.cat([z, self.embed(labels)], dim=1)).view(len(z), *self.output_shape)


class MLPConditionalDiscriminator(Discriminator):
    """[flattened x, e(y)] -> dropout, two maxout layers with dropout -> one logit."""

    def __init__(self, shape: tuple[int, ...], num_classes: int, embed_dim: int, hidden: int, pieces: int,
                 dropout: float, input_dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.input_dropout = nn.Dropout(input_dropout)
        self.net = nn.Sequential(
            Maxout(math.prod(shape) + embed_dim, hidden, pieces), nn.Dropout(dropout),
            Maxout(hidden, hidden, pieces), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        labels = require_labels(labels, "cgan's discriminator")
        pixels = self.input_dropout(x.flatten(1))
        return self.net(torch.cat([pixels, self.embed(labels)], dim=1)).squeeze(1)


class ConvConditionalDiscriminator(Discriminator):
    """[x, e(y) broadcast over the image] -> the DCGAN discriminator -> logits (B,)."""

    def __init__(self, channels: int, size: int, num_classes: int, embed_dim: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = DCGANDiscriminator(channels + embed_dim, size, width)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        labels = require_labels(labels, "cgan-conv's discriminator")
        maps = self.embed(labels).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.body(torch.cat([x, maps], dim=1))


def build_mlp_generator(ctx: BuildContext) -> MLPConditionalGenerator:
    return MLPConditionalGenerator(ctx["latent_dim"], ctx.data.shape, ctx.data.num_classes, ctx["embed_dim"],
                                   ctx["g_hidden"])


def build_mlp_discriminator(ctx: BuildContext) -> MLPConditionalDiscriminator:
    return MLPConditionalDiscriminator(ctx.data.shape, ctx.data.num_classes, ctx["embed_dim"], ctx["d_hidden"],
                                       ctx["maxout_pieces"], ctx["dropout"], ctx["input_dropout"])


def build_conv_generator(ctx: BuildContext) -> ConditionalDCGANGenerator:
    channels, size = square_image_shape(ctx.data, "cgan-conv")
    return ConditionalDCGANGenerator(ctx["latent_dim"], channels, size, ctx.data.num_classes, ctx["embed_dim"],
                                    ctx["g_width"])


def build_conv_discriminator(ctx: BuildContext) -> ConvConditionalDiscriminator:
    channels, size = square_image_shape(ctx.data, "cgan-conv")
    return ConvConditionalDiscriminator(channels, size, ctx.data.num_classes, ctx["embed_dim"], ctx["d_width"])

"""DCGAN networks (Radford et al. 2015) for square images with 1 or 3 channels.

G: z -> 4x4 by a transposed convolution, then stride-2 transposed convolutions doubling the
size, batch norm + ReLU everywhere but the tanh output. D mirrors it: stride-2 convolutions,
LeakyReLU 0.2, batch norm everywhere but the input layer, a 4x4 convolution to one logit.
Weights start from N(0, 0.02) (batch-norm scales from N(1, 0.02)).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.nets.base import Discriminator, Generator
from ganzoo.nets.shapes import doubling_stages


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def discriminator_trunk(channels: int, size: int, width: int) -> tuple[nn.Sequential, int]:
    """D's stride-2 stack down to a 4x4 map, and that map's channel count."""
    n = doubling_stages(size)
    widths = [width * 2**i for i in range(n)]  # e.g. 64, 128, 256 for 32x32
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for w_in, w_out in zip(widths, widths[1:], strict=False):  # halves the size each time
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*layers), widths[-1]


class DCGANGenerator(Generator):
    """z (B, nz) -> images (B, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size))
        n = doubling_stages(size)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 256, 128, 64 for 32x32, width 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths, widths[1:], strict=False):  # doubles the size each time
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]  # -> S x S
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z.view(len(z), -1, 1, 1))


class DCGANDiscriminator(Discriminator):
    """images (B, C, S, S) -> logits (B,)."""

    def __init__(self, channels: int, size: int, width: int) -> None:
        super().__init__()
        trunk, features = discriminator_trunk(channels, size, width)
        self.net = nn.Sequential(*trunk, nn.Conv2d(features, 1, 4, 1, 0, bias=False))  # 4x4 -> 1x1
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).view(len(x))


class ConditionalDCGANGenerator(Generator):
    """[z, e(y)] -> the DCGAN generator -> images (B, C, S, S) in [-1, 1]: class labels as a learned
    embedding concatenated to the latent (Mirza & Osindero 2014 on DCGAN networks)."""

    def __init__(self, latent_dim: int, channels: int, size: int, num_classes: int, embed_dim: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size), num_classes)
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = DCGANGenerator(latent_dim + embed_dim, channels, size, width)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("this generator is conditional: pass class labels")
        return self.body(torch.cat([z, self.embed(labels)], dim=1))

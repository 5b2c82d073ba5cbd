"""DCGAN networks (Radford et al. 2015) for 32x32 and 64x64 images with 1 or 3 channels.

G: z -> 4x4 by a transposed convolution, then stride-2 transposed convolutions doubling the
size, batch norm + ReLU everywhere but the tanh output. D mirrors it: stride-2 convolutions,
LeakyReLU 0.2, batch norm everywhere but the input layer, a 4x4 convolution to one logit.
Weights start from N(0, 0.02) (batch-norm scales from N(1, 0.02)).
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganzoo.errors import ConfigError
from ganzoo.spec import BuildContext, Discriminator, Generator

SIZES = (32, 64)


def stages(size: int) -> int:
    """Number of stride-2 layers between 4x4 and size x size."""
    if size not in SIZES:
        raise ConfigError(f"dcgan makes {' or '.join(f'{s}x{s}' for s in SIZES)} images, not {size}x{size}; "
                          "set --image-size 32 or 64")
    return int(math.log2(size)) - 2


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(Generator):
    """z (B, nz) -> images (B, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size))
        n = stages(size)
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
        n = stages(size)
        widths = [width * 2**i for i in range(n)]  # e.g. 64, 128, 256 for 32x32
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:], strict=False):  # halves the size each time
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)]  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).view(len(x))


def _image_shape(ctx: BuildContext) -> tuple[int, int]:
    channels, height, width = ctx.data.shape
    if height != width:
        raise ConfigError(f"dcgan needs square images, got {height}x{width}")
    if channels not in (1, 3):
        raise ConfigError(f"dcgan needs 1 or 3 channels, got {channels}")
    return channels, height


def build_generator(ctx: BuildContext) -> DCGANGenerator:
    channels, size = _image_shape(ctx)
    return DCGANGenerator(ctx["latent_dim"], channels, size, ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> DCGANDiscriminator:
    channels, size = _image_shape(ctx)
    return DCGANDiscriminator(channels, size, ctx["d_width"])

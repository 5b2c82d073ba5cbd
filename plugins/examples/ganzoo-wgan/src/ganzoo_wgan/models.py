"""Convolutional generator and critic for square images whose side is a power of two (>= 8).

G: z -> 4x4 feature map by a transposed convolution, then stride-2 transposed convolutions
that double the size, batch norm + ReLU between them and tanh at the end (images in [-1, 1]).
The critic mirrors it with stride-2 convolutions and LeakyReLU 0.2. It uses layer norm,
never batch norm: the gradient penalty is taken per sample, and batch norm would make each
sample's score depend on the rest of its batch (Gulrajani et al. 2017, section 4).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.plugin import BuildContext, Discriminator, Generator, doubling_stages, layer_norm, square_image_shape


class ConvGenerator(Generator):
    """z (B, latent_dim) -> images (B, C, S, S) in [-1, 1]."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size))
        n = doubling_stages(size, "wgan-gp")
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 256, 128, 64 for 32x32 and width 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for w_in, w_out in zip(widths, widths[1:], strict=False):  # doubles the side each time
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]  # -> S x S
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z.view(len(z), -1, 1, 1))


class LayerNormCritic(Discriminator):
    """images (B, C, S, S) -> unbounded scores (B,)."""

    def __init__(self, channels: int, size: int, width: int) -> None:
        super().__init__()
        n = doubling_stages(size, "wgan-gp")
        widths = [width * 2**i for i in range(n)]  # e.g. 64, 128, 256 for 32x32
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for w_in, w_out in zip(widths, widths[1:], strict=False):  # halves the side each time
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1), layer_norm(w_out), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0)]  # 4x4 -> one score
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).view(len(x))


def build_generator(ctx: BuildContext) -> ConvGenerator:
    channels, size = square_image_shape(ctx.data, "wgan-gp", sizes=None, channels=None)
    return ConvGenerator(ctx["latent_dim"], channels, size, ctx["g_width"])


def build_critic(ctx: BuildContext) -> LayerNormCritic:
    channels, size = square_image_shape(ctx.data, "wgan-gp", sizes=None, channels=None)
    return LayerNormCritic(channels, size, ctx["d_width"])

"""Networks of the projection discriminator cGAN (Miyato & Koyama 2018).

D: a spectrally normalised convolutional trunk phi (DCGAN-shaped stride-2 convolutions, cheaper
on CPUs than the paper's ResNet), global sum pooling, then
D(x, y) = psi(phi(x)) + <V[y], phi(x)>: an unconditional linear score plus the inner product
of a class embedding with the features (the "projection"). Spectral normalisation
(Miyato et al. 2018) wraps every weight of D, the embedding V included.
G: DCGAN-style transposed convolutions with conditional batch norm: batch norm without its own
affine parameters, followed by a per-class gain and bias (the paper's choice for G).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.plugin import (
    BuildContext,
    ConditionalBatchNorm2d,
    Discriminator,
    Generator,
    doubling_stages,
    spectral_norm,
    square_image_shape,
)


class ConditionalBNGenerator(Generator):
    """z (B, nz) and labels (B,) -> images (B, C, S, S) in [-1, 1]; the label enters every norm layer."""

    def __init__(self, latent_dim: int, channels: int, size: int, num_classes: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size), num_classes)
        n = doubling_stages(size, "projection")
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 128, 64, 32 for 32x32, width 32
        self.convs = nn.ModuleList([nn.ConvTranspose2d(latent_dim, widths[0], 4, 1, 0, bias=False)])  # 1x1 -> 4x4
        self.convs.extend(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False)  # doubles the size each time
                          for w_in, w_out in zip(widths, widths[1:], strict=False))
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(w, num_classes) for w in widths)
        self.to_image = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1)  # -> S x S
        for conv in (*self.convs, self.to_image):
            nn.init.normal_(conv.weight, 0.0, 0.02)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("projection's generator is conditional: pass class labels")
        h = z.view(len(z), -1, 1, 1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h), labels))
        return torch.tanh(self.to_image(h))


class ProjectionDiscriminator(Discriminator):
    """images (B, C, S, S) and labels (B,) -> psi(phi(x)) + <V[y], phi(x)> (B,); without labels: psi(phi(x))."""

    def __init__(self, channels: int, size: int, num_classes: int, width: int) -> None:
        super().__init__()
        n = doubling_stages(size, "projection")
        widths = [width * 2**i for i in range(n)]  # e.g. 32, 64, 128 for 32x32, width 32
        layers: list[nn.Module] = []
        for w_in, w_out in zip([channels, *widths], widths, strict=False):  # halves the size each time
            layers += [spectral_norm(nn.Conv2d(w_in, w_out, 4, 2, 1)), nn.LeakyReLU(0.1, True)]
        self.phi = nn.Sequential(*layers)
        self.psi = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, widths[-1]))

    def features(self, x: Tensor) -> Tensor:
        """phi(x): the trunk's features summed over positions (global sum pooling), (B, F)."""
        return self.phi(x).sum(dim=(2, 3))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.features(x)
        out = self.psi(h).squeeze(1)
        if labels is not None:
            out = out + (self.embed(labels) * h).sum(dim=1)
        return out


def build_generator(ctx: BuildContext) -> ConditionalBNGenerator:
    channels, size = square_image_shape(ctx.data, "projection", channels=None)
    return ConditionalBNGenerator(ctx["latent_dim"], channels, size, ctx.data.num_classes, ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> ProjectionDiscriminator:
    channels, size = square_image_shape(ctx.data, "projection", channels=None)
    return ProjectionDiscriminator(channels, size, ctx.data.num_classes, ctx["d_width"])

"""AC-GAN networks (Odena, Olah & Shlens 2017).

G is the conditional DCGAN generator of ``ganzoo_cgan`` ([z, e(y)] as its latent). D is a
DCGAN discriminator that does not see the label: its shared trunk ends in two heads, a source
logit (real or fake) and class logits (the auxiliary classifier).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.spec import BuildContext, Discriminator
from ganzoo_cgan.models import ConvConditionalGenerator, square_image_shape
from ganzoo_dcgan.models import init_weights, stages


class AuxiliaryClassifierDiscriminator(Discriminator):
    """images (B, C, S, S) -> source logits (B,); :meth:`score` adds class logits (B, K)."""

    def __init__(self, channels: int, size: int, num_classes: int, width: int) -> None:
        super().__init__()
        n = stages(size)
        widths = [width * 2**i for i in range(n)]  # e.g. 32, 64, 128 for 32x32, width 32
        layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths, widths[1:], strict=False):  # halves the size each time
            layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
        self.trunk = nn.Sequential(*layers)  # -> (B, widths[-1], 4, 4)
        self.source = nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False)
        self.classes = nn.Conv2d(widths[-1], num_classes, 4, 1, 0)
        self.apply(init_weights)

    def score(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(source logits (B,), class logits (B, K)) from one pass through the trunk."""
        h = self.trunk(x)
        return self.source(h).view(len(x)), self.classes(h).view(len(x), -1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Source logits only (the Discriminator contract); the label is not an input of this D."""
        return self.score(x)[0]


def build_generator(ctx: BuildContext) -> ConvConditionalGenerator:
    channels, size = square_image_shape(ctx, "acgan")
    return ConvConditionalGenerator(ctx["latent_dim"], channels, size, ctx.data.num_classes, ctx["embed_dim"],
                                    ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> AuxiliaryClassifierDiscriminator:
    channels, size = square_image_shape(ctx, "acgan")
    return AuxiliaryClassifierDiscriminator(channels, size, ctx.data.num_classes, ctx["d_width"])

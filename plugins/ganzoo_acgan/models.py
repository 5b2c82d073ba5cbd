"""AC-GAN networks (Odena, Olah & Shlens 2017).

G is a conditional DCGAN generator ([z, e(y)] as its latent). D is a DCGAN discriminator that
does not see the label: its shared trunk ends in two heads, a source logit (real or fake) and
class logits (the auxiliary classifier).
"""

from __future__ import annotations

from torch import Tensor, nn

from ganzoo.plugin import (
    BuildContext,
    ConditionalDCGANGenerator,
    Discriminator,
    discriminator_trunk,
    init_weights,
    square_image_shape,
)


class AuxiliaryClassifierDiscriminator(Discriminator):
    """images (B, C, S, S) -> source logits (B,); :meth:`score` adds class logits (B, K)."""

    def __init__(self, channels: int, size: int, num_classes: int, width: int) -> None:
        super().__init__()
        self.trunk, features = discriminator_trunk(channels, size, width)  # -> (B, features, 4, 4)
        self.source = nn.Conv2d(features, 1, 4, 1, 0, bias=False)
        self.classes = nn.Conv2d(features, num_classes, 4, 1, 0)
        self.apply(init_weights)

    def score(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(source logits (B,), class logits (B, K)) from one pass through the trunk."""
        h = self.trunk(x)
        return self.source(h).view(len(x)), self.classes(h).view(len(x), -1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Source logits only (the Discriminator contract); the label is not an input of this D."""
        return self.score(x)[0]


def build_generator(ctx: BuildContext) -> ConditionalDCGANGenerator:
    channels, size = square_image_shape(ctx.data, "acgan")
    return ConditionalDCGANGenerator(ctx["latent_dim"], channels, size, ctx.data.num_classes, ctx["embed_dim"],
                                    ctx["g_width"])


def build_discriminator(ctx: BuildContext) -> AuxiliaryClassifierDiscriminator:
    channels, size = square_image_shape(ctx.data, "acgan")
    return AuxiliaryClassifierDiscriminator(channels, size, ctx.data.num_classes, ctx["d_width"])

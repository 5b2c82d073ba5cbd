"""MLP networks of the original GAN paper, on flattened samples.

Generator: z -> two ReLU layers -> tanh output for images in [-1, 1] (a rescaled sigmoid, as
in the paper's MNIST model) or a linear output for points. Discriminator: dropout on the
input, two maxout layers with dropout, one logit.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganzoo.plugin import BuildContext, Discriminator, Generator, Maxout


class MLPGenerator(Generator):
    """z (B, latent_dim) -> samples (B, *shape)."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], hidden: int, bounded: bool) -> None:
        super().__init__(latent_dim, shape)
        out = math.prod(shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, out),
            nn.Tanh() if bounded else nn.Identity(),
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z).view(len(z), *self.output_shape)


class MaxoutDiscriminator(Discriminator):
    """samples (B, *shape) -> logits (B,)."""

    def __init__(self, shape: tuple[int, ...], hidden: int, pieces: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(min(dropout, 0.2)),
            Maxout(math.prod(shape), hidden, pieces), nn.Dropout(dropout),
            Maxout(hidden, hidden, pieces), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).squeeze(1)


def build_generator(ctx: BuildContext) -> MLPGenerator:
    return MLPGenerator(ctx["latent_dim"], ctx.data.shape, ctx["g_hidden"], bounded=ctx.data.modality == "image")


def build_discriminator(ctx: BuildContext) -> MaxoutDiscriminator:
    return MaxoutDiscriminator(ctx.data.shape, ctx["d_hidden"], ctx["maxout_pieces"], ctx["dropout"])

"""Gated PixelCNN (van den Oord et al. 2016): masked vertical and horizontal stacks, a softmax over grey levels.

Masks. A masked k x k convolution multiplies its kernel by a 0/1 mask; the weights it zeroes never matter,
so each stack here stores only the unmasked part of the kernel and pads one side of its input, which is
the same function at a fraction of the cost:

- vertical stack, mask A (first layer): the rows strictly above, ``k//2`` x ``k`` (pad ``k//2`` rows on
  top and drop the last output row); mask B (later layers): the rows above and the row itself,
  ``(k//2 + 1)`` x ``k``, of the previous vertical features. So the vertical features of row r depend on
  image rows < r only, at every layer, and feed the horizontal stack of row r directly (no shift needed).
- horizontal stack, mask A (first layer): the pixels strictly left in the row, ``1`` x ``k//2``; mask B
  (later layers): the pixels left and the pixel itself, ``1`` x ``(k//2 + 1)``, of the previous
  horizontal features.

Logits at pixel (r, c) therefore depend on pixels (r', c') with r' < r, or r' == r and c' < c: raster
order, with no blind spot (the vertical stack covers the pixels above and to the right). Channels: every
channel of a pixel is predicted from the earlier pixels only (all their channels), not from the other
channels of the same pixel: a proper distribution, simpler than the paper's R -> G -> B ordering.

Nothing looks down: computing the network on rows 0..r gives exactly the logits of rows 0..r, and the
horizontal stack of row r needs only that row and the vertical features of that row. Nor does anything
reach further than ``layers * (k//2)`` rows up or columns left (the receptive field). The sampler uses all
three (:meth:`PixelCNN.sample_levels`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import ConfigError, Generator

LN2 = math.log(2.0)


def at_least_float32(x: Tensor) -> Tensor:
    """x in float32, or float64 where it is: softmaxes over levels run at full precision, even under bf16 autocast."""
    return x if x.dtype == torch.float64 else x.float()


def gate(features: Tensor) -> Tensor:
    """The gated activation tanh(a) * sigmoid(b) over the two halves of the channels."""
    a, b = features.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class VerticalConv(nn.Module):
    """A k x k convolution masked to the rows above (mask 'A') or the rows above and the row itself ('B')."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, mask: str) -> None:
        super().__init__()
        self.half, self.mask = kernel // 2, mask
        rows = self.half if mask == "A" else self.half + 1
        self.conv = nn.Conv2d(in_channels, out_channels, (rows, kernel))

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(F.pad(x, (self.half, self.half, self.half, 0)))
        return out[:, :, : x.shape[2]] if self.mask == "A" else out  # mask A: one row too many at the bottom


class HorizontalConv(nn.Module):
    """A 1 x k convolution masked to the pixels left of each pixel (mask 'A') or left and itself ('B')."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, mask: str) -> None:
        super().__init__()
        self.half, self.mask = kernel // 2, mask
        self.conv = nn.Conv2d(in_channels, out_channels, (1, self.half if mask == "A" else self.half + 1))

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(F.pad(x, (self.half, 0, 0, 0)))
        return out[..., : x.shape[3]] if self.mask == "A" else out


class GatedLayer(nn.Module):
    """One gated layer: a vertical and a horizontal stack, the vertical feeding the horizontal (1x1),
    tanh * sigmoid gates, a 1x1 convolution and (after the first layer) a residual in the horizontal stack."""

    def __init__(self, in_channels: int, width: int, kernel: int, mask: str) -> None:
        super().__init__()
        self.vertical = VerticalConv(in_channels, 2 * width, kernel, mask)
        self.horizontal = HorizontalConv(in_channels, 2 * width, kernel, mask)
        self.vertical_to_horizontal = nn.Conv2d(2 * width, 2 * width, 1)
        self.out = nn.Conv2d(width, width, 1)
        self.residual = mask == "B"

    def vertical_step(self, v: Tensor) -> Tensor:
        """The vertical stack's pre-activation features (2 * width channels) from the previous layer's."""
        return self.vertical(v)

    def horizontal_step(self, h: Tensor, v_features: Tensor) -> Tensor:
        """The horizontal stack's output from its input and this layer's vertical features (same rows)."""
        out = self.out(gate(self.horizontal(h) + self.vertical_to_horizontal(v_features)))
        return h + out if self.residual else out


class PixelCNN(Generator):
    """Gated PixelCNN over images of ``levels`` grey levels per channel, served as floats in [-1, 1].

    As a Generator its latent is one standard normal per dimension (C*H*W): each pixel's level is the
    inverse CDF of its softmax at Phi(z_i), so ``forward(z)`` is a deterministic function of z.
    """

    likelihood = "exact"

    def __init__(self, shape: tuple[int, int, int], levels: int, width: int, layers: int, kernel: int) -> None:
        if len(shape) != 3:
            raise ConfigError(f"pixelcnn models images (C, H, W), got samples of shape {tuple(shape)}")
        if kernel < 3 or kernel % 2 == 0:
            raise ConfigError(f"pixelcnn's kernel must be odd and at least 3, got {kernel}")
        if levels < 2:
            raise ConfigError(f"pixelcnn needs at least 2 grey levels, got {levels}")
        super().__init__(math.prod(shape), shape)
        channels = shape[0]
        self.levels = int(levels)
        self.reach = layers * (kernel // 2)
        """How far up (rows) and left (columns) the logits of a pixel see: its receptive field."""
        self.layers = nn.ModuleList(
            [GatedLayer(channels, width, kernel, "A")] + [GatedLayer(width, width, kernel, "B") for _ in range(layers - 1)]
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(width, width, 1), nn.ReLU(), nn.Conv2d(width, channels * self.levels, 1))

    # ---- levels <-> values ---------------------------------------------------------------------------
    def to_levels(self, x: Tensor) -> Tensor:
        """Images as served (floats in [-1, 1]) -> integer levels 0..levels-1."""
        return torch.round((x.float() + 1.0) / 2.0 * (self.levels - 1)).clamp(0, self.levels - 1).long()

    def to_values(self, levels: Tensor) -> Tensor:
        """Integer levels -> the values the data serves, level / (levels - 1) * 2 - 1 (in the weights' dtype)."""
        return levels.to(self.dtype) / (self.levels - 1) * 2.0 - 1.0

    @property
    def dtype(self) -> torch.dtype:
        """The floating type of the weights (float32 unless the model was converted)."""
        return self.head[-1].weight.dtype

    # ---- the network -----------------------------------------------------------------------------------
    def vertical_features(self, x: Tensor) -> list[Tensor]:
        """Each layer's vertical pre-activation features; those of row r depend on rows < r of ``x`` only."""
        features, v = [], x
        for layer in self.layers:
            pre = layer.vertical_step(v)
            features.append(pre)
            v = gate(pre)
        return features

    def horizontal_logits(self, x: Tensor, features: list[Tensor]) -> Tensor:
        """Logits (B, C, levels, H, W) from the image and the vertical features of the same rows and columns."""
        h = x
        for layer, v in zip(self.layers, features, strict=True):
            h = layer.horizontal_step(h, v)
        out = self.head(h)
        return out.view(len(x), self.output_shape[0], self.levels, *out.shape[2:])

    def logits(self, x: Tensor) -> Tensor:
        """Logits (B, C, levels, H, W) of every pixel given the pixels before it, for images given as values."""
        return self.horizontal_logits(x, self.vertical_features(x))

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-likelihood in nats of each image as served (B,), after mapping it to its levels."""
        levels = self.to_levels(x)
        logp = torch.log_softmax(at_least_float32(self.logits(self.to_values(levels))), dim=2)
        return logp.gather(2, levels.unsqueeze(2)).squeeze(2).flatten(1).sum(1)

    def bits_per_dim(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Exact negative log2-likelihood per dimension of each example (B,), in full precision even inside an
        autocast region (it is the number runs are scored by); ``generator`` is unused (there is no noise)."""
        with torch.autocast(x.device.type, enabled=False):
            return -self.log_prob(x) / (LN2 * self.latent_dim)

    # ---- sampling ----------------------------------------------------------------------------------------
    def pick(self, logits: Tensor, u: Tensor) -> Tensor:
        """Levels by inverse CDF: the first level whose cumulative probability reaches u. logits (..., L), u (...)."""
        cdf = torch.softmax(at_least_float32(logits), dim=-1).cumsum(-1)
        return (cdf < u.unsqueeze(-1)).sum(-1).clamp(max=self.levels - 1)

    def uniforms(self, z: Tensor) -> Tensor:
        """u = Phi(z), the standard normal CDF, shaped as the images (B, C, H, W)."""
        return (0.5 * torch.erfc(-z.float() / math.sqrt(2.0))).view(len(z), *self.output_shape)

    def sample_levels(self, z: Tensor) -> Tensor:
        """Levels (B, C, H, W) for latents z, pixel by pixel in raster order, computing only what each pixel needs.

        Row r: the vertical stack on rows r - reach..r only (its row r depends on the finished rows above, and
        on no row further up than its receptive field), then for each column c the horizontal stack on row r,
        columns c - reach..c only, with that row's vertical features. Exact: every feature the logits of
        (r, c) depend on lies inside those windows, so the zero padding at a window's edge never reaches them.
        """
        u = self.uniforms(z)
        batch, (channels, height, width) = len(z), self.output_shape
        x = torch.zeros(batch, channels, height, width, dtype=self.dtype, device=z.device)
        levels = torch.zeros(batch, channels, height, width, dtype=torch.long, device=z.device)
        for r in range(height):
            top = max(0, r - self.reach)
            row_features = [f[:, :, -1:] for f in self.vertical_features(x[:, :, top : r + 1])]
            for c in range(width):
                left = max(0, c - self.reach)
                window = [f[..., left : c + 1] for f in row_features]
                logits = self.horizontal_logits(x[:, :, r : r + 1, left : c + 1], window)
                levels[:, :, r, c] = self.pick(logits[..., 0, -1], u[:, :, r, c])
                x[:, :, r, c] = self.to_values(levels[:, :, r, c])
        return levels

    def sample_levels_naive(self, z: Tensor) -> Tensor:
        """The same levels as :meth:`sample_levels`, running the whole network on the whole image per pixel."""
        u = self.uniforms(z)
        batch, (channels, height, width) = len(z), self.output_shape
        x = torch.zeros(batch, channels, height, width, dtype=self.dtype, device=z.device)
        levels = torch.zeros(batch, channels, height, width, dtype=torch.long, device=z.device)
        for r in range(height):
            for c in range(width):
                levels[:, :, r, c] = self.pick(self.logits(x)[..., r, c], u[:, :, r, c])
                x[:, :, r, c] = self.to_values(levels[:, :, r, c])
        return levels

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Images (B, C, H, W) as values in [-1, 1], a deterministic function of z (B, C*H*W)."""
        with torch.no_grad():
            return self.to_values(self.sample_levels(z))

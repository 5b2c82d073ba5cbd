"""Networks of SN-GAN (Miyato et al. 2018): the ResNet generator and discriminator of its CIFAR-10 runs.

G: z -> linear -> 4x4 map of ``width`` channels -> log2(S/4) up-blocks (3 for 32x32), each
    BN, ReLU, 2x nearest upsample, conv3x3, BN, ReLU, conv3x3, plus a shortcut of
    upsample + conv1x1 -> BN, ReLU, conv3x3 to the image channels, tanh.
D: every convolution and linear layer spectrally normalised. An "optimised" first block
    (conv3x3, ReLU, conv3x3, 2x2 average pool; shortcut: pool, then conv1x1), down blocks
    (ReLU, conv3x3, ReLU, conv3x3, pool; shortcut: conv1x1, then pool) down to an 8x8 map
    (4x4 for 8x8 images), two blocks at that size with an identity shortcut, ReLU, a sum over
    positions and a linear layer to one logit. At 32x32 that is the paper's 4-block D.

Every block of G has ``width`` channels (the paper: 256), every block of D ``width``
channels (the paper: 128).

Initialisation, after the authors' public CIFAR-10 setup: Xavier (Glorot) uniform weights,
with gain sqrt(2) on the 3x3 convolutions inside a residual branch and gain 1 on the 1x1
shortcuts, G's input linear layer and output convolution and D's final linear layer; biases
zero; batch-norm scales 1 and shifts 0 (torch's default). D's weights are initialised before
spectral normalisation wraps them, so the init sets the direction and SN the scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import Discriminator, Generator, doubling_stages, spectral_norm

RESIDUAL_GAIN = math.sqrt(2.0)


def _xavier(module: nn.Conv2d | nn.Linear, gain: float = 1.0) -> nn.Conv2d | nn.Linear:
    nn.init.xavier_uniform_(module.weight, gain)
    if module.bias is not None:
        nn.init.zeros_(module.bias)
    return module


def conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    """A kernel x kernel convolution keeping the map's size, Xavier-initialised."""
    return _xavier(nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2), gain)


def sn_conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0) -> nn.Conv2d:
    return spectral_norm(conv(c_in, c_out, kernel, gain))


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)


class UpBlock(nn.Module):
    """G's residual block, doubling the map's size: BN, ReLU, up, conv3x3, BN, ReLU, conv3x3 (+ up, conv1x1)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1 = conv(c_in, c_out, 3, RESIDUAL_GAIN)
        self.conv2 = conv(c_out, c_out, 3, RESIDUAL_GAIN)
        self.shortcut = conv(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(_upsample(torch.relu(self.norm1(x))))
        h = self.conv2(torch.relu(self.norm2(h)))
        return h + self.shortcut(_upsample(x))


class OptimizedBlock(nn.Module):
    """D's first block, on the image itself: conv3x3, ReLU, conv3x3, pool (+ pool, conv1x1)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = sn_conv(c_in, c_out, 3, RESIDUAL_GAIN)
        self.conv2 = sn_conv(c_out, c_out, 3, RESIDUAL_GAIN)
        self.shortcut = sn_conv(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = _downsample(self.conv2(torch.relu(self.conv1(x))))
        return h + self.shortcut(_downsample(x))


class DownBlock(nn.Module):
    """D's residual block: ReLU, conv3x3, ReLU, conv3x3, then pool when ``downsample``.

    The shortcut is conv1x1 then pool when the block downsamples (or changes the width), else the identity.
    """

    def __init__(self, c_in: int, c_out: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = sn_conv(c_in, c_out, 3, RESIDUAL_GAIN)
        self.conv2 = sn_conv(c_out, c_out, 3, RESIDUAL_GAIN)
        self.shortcut = sn_conv(c_in, c_out, 1) if downsample or c_in != c_out else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(torch.relu(self.conv1(torch.relu(x))))
        skip = x if self.shortcut is None else self.shortcut(x)
        if self.downsample:
            h, skip = _downsample(h), _downsample(skip)
        return h + skip


class ResNetGenerator(Generator):
    """z (B, nz) -> images (B, C, S, S) in [-1, 1], S a power of two of at least 8."""

    def __init__(self, latent_dim: int, channels: int, size: int, width: int) -> None:
        super().__init__(latent_dim, (channels, size, size))
        self.width = width
        self.linear = _xavier(nn.Linear(latent_dim, 4 * 4 * width))
        self.blocks = nn.Sequential(*(UpBlock(width, width) for _ in range(doubling_stages(size, "sngan"))))
        self.norm = nn.BatchNorm2d(width)
        self.to_image = conv(width, channels, 3)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.linear(z).view(len(z), self.width, 4, 4)
        h = self.blocks(h)
        return torch.tanh(self.to_image(torch.relu(self.norm(h))))


class ResNetDiscriminator(Discriminator):
    """images (B, C, S, S) -> logits (B,); every weight spectrally normalised."""

    def __init__(self, channels: int, size: int, width: int) -> None:
        super().__init__()
        halvings = max(doubling_stages(size, "sngan") - 1, 1)  # down to 8x8 (32x32: 2 halvings; 8x8: 1, to 4x4)
        blocks: list[nn.Module] = [OptimizedBlock(channels, width)]
        blocks += [DownBlock(width, width, downsample=True) for _ in range(halvings - 1)]
        blocks += [DownBlock(width, width, downsample=False) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = spectral_norm(_xavier(nn.Linear(width, 1)))

    def features(self, x: Tensor) -> Tensor:
        """ReLU of the last block's map, summed over positions (global sum pooling), (B, width)."""
        return torch.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.linear(self.features(x)).view(len(x))

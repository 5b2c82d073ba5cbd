"""The networks of image-to-image translation: pix2pix's U-Net, CycleGAN's ResNet generator, and the
PatchGAN discriminator both use, with a receptive field scaled to the image size."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

MAX_WIDTH_FACTOR = 8
"""Channel widths grow by 2 per halving up to 8x the base width (pix2pix's ngf * 8)."""


def patch_layers(size: int) -> int:
    """Stride-2 layers of a PatchGAN for ``size`` px images: a receptive field of about half the image.

    pix2pix's 70x70 (3 layers) suits its 256 px images; a 64 px glyph gets 34x34 (2), 32 px 16x16 (1),
    128 px 70x70 (3).
    """
    return max(1, min(3, int(math.log2(size)) - 4))


def receptive_field(layers: int) -> int:
    """The receptive field of a PatchGAN with ``layers`` stride-2 convolutions (kernel 4)."""
    field = 1
    for stride in [1, 1] + [2] * layers:  # from the output back: two stride-1 convs, then the stride-2 ones
        field = (field - 1) * stride + 4
    return field


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.InstanceNorm2d(channels, affine=False)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): one logit per overlapping patch, (B, P) for a (B, C, S, S) input."""

    def __init__(self, in_channels: int, size: int, width: int, norm: str = "batch") -> None:
        super().__init__()
        layers = patch_layers(size)
        self.receptive_field = receptive_field(layers)
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        channels = width
        for i in range(1, layers + 1):
            out = width * min(2**i, MAX_WIDTH_FACTOR)
            stride = 2 if i < layers else 1
            blocks += [nn.Conv2d(channels, out, 4, stride, 1, bias=False), _norm(norm, out), nn.LeakyReLU(0.2, True)]
            channels = out
        blocks.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten(1)


class _UNetLevel(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip connection around them."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, *, outermost: bool = False,
                 in_channels: int | None = None, out_channels: int | None = None, dropout: bool = False) -> None:
        super().__init__()
        innermost = sub is None
        down: list[nn.Module] = [nn.Conv2d(in_channels or outer, inner, 4, 2, 1, bias=outermost or innermost)]
        if not (outermost or innermost):
            down.append(nn.BatchNorm2d(inner))
        up_in = inner if innermost else inner * 2
        if outermost:
            up: list[nn.Module] = [nn.ReLU(True), nn.ConvTranspose2d(up_in, out_channels or outer, 4, 2, 1), nn.Tanh()]
        else:
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                up.append(nn.Dropout(0.5))
        self.outermost = outermost
        self.down = nn.Sequential(*([] if outermost else [nn.LeakyReLU(0.2, True)]), *down)
        self.sub = sub
        self.up = nn.Sequential(*up)

    def forward(self, x: Tensor) -> Tensor:
        inner = self.down(x)
        if self.sub is not None:
            inner = self.sub(inner)
        out = self.up(inner)
        return out if self.outermost else torch.cat([x, out], dim=1)  # the skip connection


class UNet(nn.Module):
    """pix2pix's U-Net: log2(size) stride-2 levels down to 1x1 and back, with skips; dropout (the noise) in the
    three levels below the innermost."""

    def __init__(self, in_channels: int, out_channels: int, size: int, width: int) -> None:
        super().__init__()
        levels = int(math.log2(size))
        if 2**levels != size or levels < 3:
            raise ValueError(f"the U-Net needs a power-of-two image size of at least 8, got {size}")
        widths = [width * min(2**i, MAX_WIDTH_FACTOR) for i in range(levels)]  # outer -> inner
        block: nn.Module | None = None
        for i in range(levels - 1, 0, -1):
            dropout = block is not None and i >= levels - 4
            block = _UNetLevel(widths[i - 1], widths[i], block, dropout=dropout)
        self.net = _UNetLevel(widths[0], widths[0], block, outermost=True, in_channels=in_channels,
                              out_channels=out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class ResNetTranslator(nn.Module):
    """CycleGAN's generator (Johnson et al. 2016): c7s1-w, two stride-2 downs, residual blocks, two ups, c7s1 + tanh."""

    def __init__(self, in_channels: int, out_channels: int, width: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7), nn.InstanceNorm2d(width),
                                   nn.ReLU(True)]
        channels = width
        for _ in range(2):
            layers += [nn.Conv2d(channels, channels * 2, 3, 2, 1), nn.InstanceNorm2d(channels * 2), nn.ReLU(True)]
            channels *= 2
        layers += [_ResidualBlock(channels) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 3, 2, 1, output_padding=1),
                       nn.InstanceNorm2d(channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """pix2pix / CycleGAN initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)

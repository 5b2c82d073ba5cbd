"""Checks of the image shapes a network family can make, as one clear line instead of a failed layer."""

from __future__ import annotations

import math

from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError

DCGAN_SIZES = (32, 64)


def square_image_shape(info: DataInfo, model: str, sizes: tuple[int, ...] | None = DCGAN_SIZES,
                       channels: tuple[int, ...] | None = (1, 3)) -> tuple[int, int]:
    """(channels, size) of the run's square images, refused unless the size is in ``sizes`` and the
    channel count in ``channels`` (None: any)."""
    c, height, width = info.shape
    if height != width:
        raise ConfigError(f"{model} needs square images, got {height}x{width}")
    if sizes is not None and height not in sizes:
        raise ConfigError(f"{model} makes {' or '.join(f'{s}x{s}' for s in sizes)} images, not {height}x{width}; "
                          f"set --image-size {' or '.join(str(s) for s in sizes)}")
    if channels is not None and c not in channels:
        raise ConfigError(f"{model} needs {' or '.join(str(n) for n in channels)} channels, got {c}")
    return c, height


def doubling_stages(size: int, model: str = "this network") -> int:
    """Stride-2 layers between a 4x4 map and a size x size image (size a power of two, at least 8)."""
    stages = int(math.log2(size)) - 2 if size > 0 else 0
    if stages < 1 or 4 * 2**stages != size:
        raise ConfigError(f"{model} needs a square image side that is a power of two, at least 8; got {size}")
    return stages

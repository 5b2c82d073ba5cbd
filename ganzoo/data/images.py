"""Helpers shared by image datasets: resizing and checks on requested sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import ConfigError

MAX_IMAGE_SIZE = 1024


def check_image_size(size: int | None) -> None:
    """Reject sizes no image model can use."""
    if size is not None and not (4 <= size <= MAX_IMAGE_SIZE):
        raise ConfigError(f"image size must be between 4 and {MAX_IMAGE_SIZE} pixels, got {size}")


def resize_uint8(images: Tensor, size: int | None, chunk: int = 4096) -> Tensor:
    """Resize (N, C, H, W) uint8 images to size x size (antialiased bilinear), in chunks."""
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for begin in range(0, len(images), chunk):
        part = images[begin : begin + chunk].float()
        part = F.interpolate(part, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[begin : begin + chunk] = part.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 0..255 -> float in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)

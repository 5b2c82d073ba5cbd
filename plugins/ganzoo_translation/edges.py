"""`edges2digits`: a small paired translation set made offline from scikit-learn's 1,797 digit scans.

The target is the digit as the ``digits`` dataset serves it (the 8x8 scan upsampled bilinearly to 32 or 64
pixels, white on black); the source is its outline, as pix2pix's edges2shoes pairs outlines with photos. The
outline is drawn with Pillow: a light Gaussian blur, a threshold at half the image's brightest level, and the
inner boundary of that shape (the shape less its erosion by ``MinFilter``), one pixel wide per 32 pixels of
image size, white (255) on black (0). The split is ``digits``'s: a fixed stratified 80/20 of the scans
(random_state 0). No network, no files, the same pixels on every run.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageChops, ImageFilter
from torch import Tensor

from ganzoo.plugin import ConfigError, DataError, DataInfo, DataRequest, DatasetSpec, TensorData

SPLITS = ("train", "test")
SIZES = (32, 64)
DEFAULT_SIZE = 32
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def split_indices(labels: np.ndarray, split: str) -> list[int]:
    """The scans of a split: the same fixed, stratified 80/20 split as the ``digits`` dataset."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(list(range(len(labels))), test_size=TEST_FRACTION, random_state=SPLIT_SEED,
                                   stratify=labels)
    return sorted(train if split == "train" else test)


def digit_images(split: str, size: int) -> Tensor:
    """The split's digits upsampled bilinearly to size x size: (N, 1, size, size) uint8, white on black."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    scans = torch.tensor(bunch.images[split_indices(bunch.target, split)], dtype=torch.float32).unsqueeze(1) / 16.0
    unit = F.interpolate(scans, size=(size, size), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    return unit.mul(255.0).round().to(torch.uint8)


def outline(digit: np.ndarray) -> np.ndarray:
    """The outline of one (size, size) uint8 digit: white edges on black, ``size // 32`` pixels wide.

    The digit is padded with black first, so a stroke that touches the border is closed there too.
    """
    size = digit.shape[-1]
    width = max(1, size // 32)
    pad = 2 * width + 1
    canvas = Image.new("L", (size + 2 * pad, size + 2 * pad))
    canvas.paste(Image.fromarray(digit), (pad, pad))
    blurred = canvas.filter(ImageFilter.GaussianBlur(0.5 * width))
    level = max(1, (blurred.getextrema()[1] + 1) // 2)
    shape = blurred.point(lambda v: 255 if v >= level else 0)
    edges = ImageChops.subtract(shape, shape.filter(ImageFilter.MinFilter(2 * width + 1)))
    return np.asarray(edges.crop((pad, pad, pad + size, pad + size)))


def load_edges2digits(request: DataRequest) -> TensorData:
    """Paired (outline, digit) images of a split: outlines as conditions, digits as samples, uint8."""
    if request.split not in SPLITS:
        raise DataError(f"edges2digits has splits {', '.join(SPLITS)}; got {request.split!r}")
    size = request.image_size or DEFAULT_SIZE
    if size not in SIZES:
        raise ConfigError(f"edges2digits draws images of {' or '.join(map(str, SIZES))} pixels; got image_size {size}")
    digits = digit_images(request.split, size)
    edges = torch.from_numpy(np.stack([outline(digit) for digit in digits[:, 0].numpy()])).unsqueeze(1)
    info = DataInfo("translation", (1, size, size), extras={
        "condition_shape": [1, size, size], "paired": True, "domains": ["edges", "digits"]})
    return TensorData(digits, None, info, condition=edges)


EDGES2DIGITS = DatasetSpec(
    "edges2digits", "outlines of scikit-learn's 1,797 digit scans paired with the digits (32 or 64 px), made "
                    "offline with Pillow; the digits dataset's stratified 80/20 split", "translation", load_edges2digits,
    source="scikit-learn (UCI optdigits) and Pillow, offline",
)

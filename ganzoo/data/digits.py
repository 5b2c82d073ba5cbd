"""`digits`: scikit-learn's bundled 1,797 handwritten digit scans (8x8, 17 grey levels), no network needed.

By default the scans are upsampled bilinearly to 32x32 floats, the images the GANs train on and every
image score sees. With ``data.native`` they are served as scanned (8x8, grey levels 0..16 as
``level / 8 - 1``): a density of the upsampled floats would mostly measure the upsampling, so likelihood
models train and are scored there, and their samples are upsampled by :func:`to_scored`, exactly as the
real digits are, before image scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.data.base import DataInfo, DataRequest, TensorData
from ganzoo.data.images import check_image_size
from ganzoo.errors import DataError

SPLITS = ("train", "test", "all")
LEVELS = 17
"""Grey levels of the scans: 0..16."""
TEST_FRACTION = 0.2
SPLIT_SEED = 0
DEFAULT_SIZE = 32


def split_indices(labels, split: str):
    """A fixed, stratified 80/20 split, identical on every machine."""
    from sklearn.model_selection import train_test_split

    indices = list(range(len(labels)))
    if split == "all":
        return indices
    train, test = train_test_split(indices, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels)
    return sorted(train if split == "train" else test)


def upsample(unit: Tensor, size: int) -> Tensor:
    """Scans with values in [0, 1] -> size x size, the one upsampling real and generated digits share."""
    return F.interpolate(unit, size=(size, size), mode="bilinear", align_corners=False).clamp(0.0, 1.0)


def to_scored(images: Tensor, view: DataInfo) -> Tensor:
    """Native 8x8 images in [-1, 1] -> the images of ``view`` (the default digits), as load_digits makes them."""
    return upsample(images.float().add(1.0).div(2.0), view.shape[-1]).mul(2.0).sub(1.0)


def load_digits(request: DataRequest) -> TensorData:
    """Load the digits split, upsampled to ``image_size`` (default 32) in [-1, 1], or native (``data.native``)."""
    from sklearn.datasets import load_digits as sklearn_digits

    if request.split not in SPLITS:
        raise DataError(f"digits has splits {', '.join(SPLITS)}; got {request.split!r}")
    size = request.image_size or DEFAULT_SIZE
    check_image_size(size)
    bunch = sklearn_digits()
    keep = split_indices(bunch.target, request.split)
    scans = torch.tensor(bunch.images[keep], dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(bunch.target[keep], dtype=torch.long)
    if request.options.get("native"):
        info = DataInfo("image", tuple(scans.shape[1:]), num_classes=10,
                        extras={"levels": LEVELS, "score_as": {"native": False, "image_size": size}})
        return TensorData(scans.div(8.0).sub(1.0), labels, info)
    images = upsample(scans / 16.0, size).mul(2.0).sub(1.0)
    return TensorData(images, labels, DataInfo("image", (1, size, size), num_classes=10))

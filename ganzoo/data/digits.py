"""`digits`: scikit-learn's bundled 1,797 handwritten digit scans (8x8), no network needed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.data.base import DataInfo, DataRequest, TensorData
from ganzoo.data.images import check_image_size
from ganzoo.errors import DataError

SPLITS = ("train", "test", "all")
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


def load_digits(request: DataRequest) -> TensorData:
    """Load the digits split, upsampled to ``image_size`` (default 32) in [-1, 1]."""
    from sklearn.datasets import load_digits as sklearn_digits

    if request.split not in SPLITS:
        raise DataError(f"digits has splits {', '.join(SPLITS)}; got {request.split!r}")
    size = request.image_size or DEFAULT_SIZE
    check_image_size(size)
    bunch = sklearn_digits()
    keep = split_indices(bunch.target, request.split)
    images = torch.tensor(bunch.images[keep], dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    images = images.clamp(0.0, 1.0).mul(2.0).sub(1.0)
    labels = torch.tensor(bunch.target[keep], dtype=torch.long)
    return TensorData(images, labels, DataInfo("image", (1, size, size), num_classes=10))

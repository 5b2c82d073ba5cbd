"""Datasets read through torchvision's file layouts: mnist, fashion-mnist, cifar10, celeba.

Files are never fetched unless the user passes --download; a missing file is one clear error
that says where ganzoo looked and how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganzoo.data.base import DataRequest, StreamData, TensorData
from ganzoo.data.images import check_image_size, resize_uint8
from ganzoo.errors import DataError
from ganzoo.spec import DataInfo


def _missing(name: str, looked: Path, request: DataRequest, extra: str = "") -> DataError:
    where = "--data-root DIR pointing to the folder that holds it"
    return DataError(
        f"{name}: no {request.split} files at {looked}{extra}; pass {where}, "
        "or --download on a machine with network access"
    )


def _check_split(name: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise DataError(f"{name} has splits {', '.join(splits)}; got {split!r}")


def _idx_loader(name: str, folder: str, torchvision_class: str):
    """A loader for an MNIST-style IDX dataset (reads the requested split's files directly)."""

    def load(request: DataRequest) -> TensorData:
        from torchvision.datasets import mnist

        _check_split(name, request.split, ("train", "test"))
        check_image_size(request.image_size)
        root = request.resolved_root
        raw = root / folder / "raw"
        prefix = "train" if request.split == "train" else "t10k"
        images_file = raw / f"{prefix}-images-idx3-ubyte"
        labels_file = raw / f"{prefix}-labels-idx1-ubyte"
        if not (images_file.exists() and labels_file.exists()) and request.download:
            import torchvision.datasets

            getattr(torchvision.datasets, torchvision_class)(str(root), train=request.split == "train", download=True)
        if not images_file.exists() or not labels_file.exists():
            raise _missing(name, raw, request, f" (expected {images_file.name} and {labels_file.name})")
        try:
            images = mnist.read_image_file(str(images_file)).unsqueeze(1)
            labels = mnist.read_label_file(str(labels_file)).long()
        except Exception as exc:
            raise DataError(f"{name}: cannot read {images_file}: {exc}") from exc
        images = resize_uint8(images, request.image_size)
        return TensorData(images, labels, DataInfo("image", tuple(images.shape[1:]), num_classes=10))

    return load


load_mnist = _idx_loader("mnist", "MNIST", "MNIST")
load_fashion_mnist = _idx_loader("fashion-mnist", "FashionMNIST", "FashionMNIST")


def load_cifar10(request: DataRequest) -> TensorData:
    """CIFAR-10 (32x32 RGB, 10 classes) from torchvision's python pickle-free batches layout."""
    from torchvision.datasets import CIFAR10

    _check_split("cifar10", request.split, ("train", "test"))
    check_image_size(request.image_size)
    root = request.resolved_root
    folder = root / CIFAR10.base_folder
    if not folder.exists() and not request.download:
        raise _missing("cifar10", folder, request)
    try:
        dataset = CIFAR10(str(root), train=request.split == "train", download=request.download)
    except RuntimeError as exc:
        raise _missing("cifar10", folder, request, f" ({exc})") from exc
    images = torch.from_numpy(np.ascontiguousarray(dataset.data)).permute(0, 3, 1, 2).contiguous()
    images = resize_uint8(images, request.image_size)
    labels = torch.tensor(dataset.targets, dtype=torch.long)
    return TensorData(images, labels, DataInfo("image", tuple(images.shape[1:]), num_classes=10))


class _Unlabelled(torch.utils.data.Dataset):
    """Wraps a torchvision dataset so it yields (image in [-1, 1], 0)."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, _ = self.dataset[index]
        return image, 0


def image_transform(size: int, crop: int | None = None):
    """PIL image -> float tensor in [-1, 1], centre-cropped then resized to size x size."""
    from torchvision import transforms

    steps = [transforms.CenterCrop(crop)] if crop else []
    steps += [
        transforms.Resize(size, antialias=True),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize((0.5,), (0.5,)),
    ]
    return transforms.Compose(steps)


def load_celeba(request: DataRequest) -> StreamData:
    """CelebA aligned faces (unlabelled), centre-cropped to 178 and resized (default 64)."""
    from torchvision.datasets import CelebA

    _check_split("celeba", request.split, ("train", "valid", "test", "all"))
    size = request.image_size or 64
    check_image_size(size)
    root = request.resolved_root
    folder = root / CelebA.base_folder
    if not folder.exists() and not request.download:
        raise _missing("celeba", folder, request)
    try:
        dataset = CelebA(
            str(root), split=request.split, target_type=[], transform=image_transform(size, 178),
            download=request.download,
        )
    except RuntimeError as exc:
        raise _missing("celeba", folder, request, f" ({exc})") from exc
    return StreamData(_Unlabelled(dataset), DataInfo("image", (3, size, size)))

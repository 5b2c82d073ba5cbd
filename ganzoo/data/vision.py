"""Datasets in their standard file layouts: mnist, fashion-mnist, cifar10 (binary version), celeba.

Files are never fetched unless the user passes --download; a missing file is one clear error
that says where ganzoo looked and how to fix it. No data file is unpickled: CIFAR-10 is read
from its binary version, not from the pickled python one torchvision uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganzoo.data.base import DataInfo, DataRequest, StreamData, TensorData
from ganzoo.data.images import check_image_size, resize_uint8
from ganzoo.errors import DataError


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


CIFAR10_FOLDER = "cifar-10-batches-bin"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
CIFAR10_RECORD = 1 + 3 * 32 * 32  # label byte, then the red, green and blue planes


def read_cifar10_binary(files: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 3, 32, 32) uint8 and labels from CIFAR-10's binary files (plain bytes, no pickle)."""
    chunks = []
    for path in files:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % CIFAR10_RECORD:
            raise DataError(f"cifar10: {path} is not a CIFAR-10 binary batch ({raw.size} bytes, "
                            f"not a multiple of {CIFAR10_RECORD})")
        chunks.append(raw.reshape(-1, CIFAR10_RECORD))
    records = np.concatenate(chunks)
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    if int(labels.max()) > 9:
        raise DataError(f"cifar10: labels above 9 in {files[0].parent}; these are not CIFAR-10 batches")
    images = torch.from_numpy(np.ascontiguousarray(records[:, 1:])).reshape(-1, 3, 32, 32)
    return images, labels


def load_cifar10(request: DataRequest) -> TensorData:
    """CIFAR-10 (32x32 RGB, 10 classes) from its binary version (ganzoo never unpickles the python one)."""
    _check_split("cifar10", request.split, ("train", "test"))
    check_image_size(request.image_size)
    root = request.resolved_root
    folder = root / CIFAR10_FOLDER
    files = [folder / name for name in CIFAR10_FILES[request.split]]
    if not all(f.is_file() for f in files) and request.download:
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(CIFAR10_URL, str(root), md5=CIFAR10_MD5)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        extra = f" (expected {', '.join(missing)})"
        if (root / "cifar-10-batches-py").is_dir():
            extra = (" (only the pickled python version, cifar-10-batches-py, is there; ganzoo does not unpickle "
                     "data files: get the binary version, cifar-10-binary.tar.gz)")
        raise _missing("cifar10", folder, request, extra)
    images, labels = read_cifar10_binary(files)
    images = resize_uint8(images, request.image_size)
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

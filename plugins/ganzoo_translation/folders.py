"""`paired-folder` and `unpaired-folder`: image-to-image translation data from your own files (--data-root).

``paired-folder`` reads either layout, chosen by what the root holds:

- ``A/`` and ``B/`` folders whose files match by name (the stem: ``A/cat.png`` pairs with ``B/cat.jpg``),
  domain A the sources, B the targets. Flat under the root, every split is the same examples; with
  ``train/A``, ``train/B``, ``test/A``, ``test/B`` under the root, each split reads its own folder.
- pix2pix's own datasets (facades, maps, edges2shoes, ...): ``train/``, ``val/`` and ``test/`` folders of
  side-by-side images, each 2W pixels wide, A the left half and B the right (pix2pix's ``--direction AtoB``).

The ``test`` split reads ``test/``, or ``val/`` where there is no ``test/`` (pix2pix's facades has both,
maps only ``val/``). ``unpaired-folder`` reads CycleGAN's layout: ``trainA/``, ``trainB/``, ``testA/`` and
``testB/``, two domains without pairs (UnpairedData), each split its own two folders.

Files are taken in sorted order, so every run gets the same tensors; files of other suffixes and hidden ones
are ignored. Every image is converted to RGB (transparency over white, 16-bit grey levels scaled to 8 bits),
stretched to image_size x image_size (Pillow's bicubic, antialiased when shrinking) and held in memory as
uint8. ``channels``: 1 (grey), 3 (RGB), or auto, decided per domain: 1 when every image of the domain shows
greys only (whatever mode it is stored in), else 3. ``direction = "b2a"`` makes B the sources and A the targets.

``extras["identity"]`` (the resolved root and a digest of the files read, as ``folder``'s) tells one set of
files from another, so a feature extractor fitted on one is never taken for another's.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ganzoo.plugin import ConfigError, DataError, DataInfo, DataRequest, DatasetSpec, Option, TensorData, UnpairedData

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
SPLITS = ("train", "test")
CHANNELS = ("auto", "1", "3")
DIRECTIONS = ("a2b", "b2a")
DEFAULT_SIZE = 64
MAX_SIZE = 1024
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
PAIRED = "paired-folder"
UNPAIRED = "unpaired-folder"
PAIRED_LAYOUT = "A/ and B/ folders of images matched by name, or pix2pix's train/ and test/ (or val/) side-by-side images"
UNPAIRED_LAYOUT = "CycleGAN's trainA/, trainB/, testA/ and testB/ folders of images"


@dataclass(frozen=True)
class Settings:
    """What a request asks of a folder dataset, checked."""

    size: int
    channels: int | None
    """1 or 3; None for auto (per domain)."""
    swap: bool
    """direction b2a: domain B is the source."""


def settings(dataset: str, request: DataRequest) -> Settings:
    """The split, image size, channels and direction of ``request``, or one clear line saying what is wrong."""
    if request.split not in SPLITS:
        raise DataError(f"{dataset} has splits {', '.join(SPLITS)}; got {request.split!r}")
    size = request.image_size or DEFAULT_SIZE
    if not 4 <= size <= MAX_SIZE:
        raise ConfigError(f"image size must be between 4 and {MAX_SIZE} pixels, got {size}")
    channels = str(request.options.get("channels", "auto"))
    if channels not in CHANNELS:
        raise ConfigError(f"data.channels must be one of {', '.join(CHANNELS)}; got {channels!r}")
    direction = str(request.options.get("direction", "a2b"))
    if direction not in DIRECTIONS:
        raise ConfigError(f"data.direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    return Settings(size, None if channels == "auto" else int(channels), direction == "b2a")


def data_root(dataset: str, request: DataRequest, layout: str) -> Path:
    """The --data-root folder, which must exist."""
    if request.root is None:
        raise DataError(f"{dataset}: pass --data-root DIR, a folder with {layout}")
    root = request.resolved_root
    if not root.is_dir():
        problem = "is not a directory" if root.exists() else "does not exist"
        raise DataError(f"{dataset}: {root} {problem}; pass --data-root DIR, a folder with {layout}")
    return root


def image_files(dataset: str, folder: Path) -> list[Path]:
    """The image files directly in ``folder``, sorted by name; at least one."""
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{dataset}: no images in {folder}")
    return files


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL image as RGB: transparency over white, 16-bit and float grey levels scaled to 8 bits."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    if image.mode.startswith("I") or image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        peak = values.max(initial=0.0)
        if image.mode.startswith("I;16") or peak > 255:
            full = 65535.0
        else:
            full = 1.0 if image.mode == "F" and peak <= 1.0 else 255.0
        image = Image.fromarray(np.clip(values / full * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return image.convert("RGB")


class Reader:
    """Decodes a dataset's image files as RGB and hashes every file it reads (the data's identity)."""

    def __init__(self, dataset: str, root: Path) -> None:
        self.dataset, self.root = dataset, root
        self.content = hashlib.sha256()
        self.files = 0

    def open(self, path: Path) -> Image.Image:
        """The image in ``path`` as RGB, or one DataError line naming the file."""
        try:
            data = path.read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                rgb = to_rgb(image)
        except UNREADABLE:
            raise DataError(f"{self.dataset}: cannot read {path}: not an image, or a damaged one") from None
        self.content.update(path.relative_to(self.root).as_posix().encode() + b"\0" + hashlib.sha256(data).digest())
        self.files += 1
        return rgb

    def identity(self, swap: bool) -> dict[str, Any]:
        """The root, the files read and their digest (with the direction: the same files the other way round
        are other data), in the form of ``folder``'s identity."""
        root = self.root.resolve()
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", root.name).strip("-.") or "root"
        content = self.content.hexdigest()
        digest = hashlib.sha256(f"{root}\n{'b2a' if swap else 'a2b'}\n{content}".encode()).hexdigest()
        return {"name": name, "root": str(root), "files": self.files, "content_sha256": content, "digest": digest}


@dataclass
class Domain:
    """One domain's images as they are read: resized RGB, and whether every one shows greys only."""

    size: int
    images: list[Image.Image] = field(default_factory=list)
    grey: bool = True

    def add(self, image: Image.Image) -> None:
        pixels = np.asarray(image)
        self.grey = self.grey and bool((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())
        self.images.append(image.resize((self.size, self.size), Image.Resampling.BICUBIC))

    def tensor(self, channels: int | None) -> Tensor:
        """(N, C, size, size) uint8 with ``channels`` (None: 1 when every image is grey, else 3)."""
        if (channels or (1 if self.grey else 3)) == 1:
            return torch.from_numpy(np.stack([np.asarray(image.convert("L")) for image in self.images])).unsqueeze(1)
        return torch.from_numpy(np.stack([np.asarray(image) for image in self.images])).permute(0, 3, 1, 2).contiguous()


def split_folder(root: Path, split: str) -> Path | None:
    """The folder of a split under ``root``: ``train/``, or ``test/`` falling back to ``val/``; None when missing."""
    for name in ("test", "val") if split == "test" else (split,):
        if (root / name).is_dir():
            return root / name
    return None


def by_stem(folder: Path) -> dict[str, Path]:
    """A folder's image files by name without suffix; two files of one name are ambiguous."""
    files: dict[str, Path] = {}
    for path in image_files(PAIRED, folder):
        if path.stem in files:
            raise DataError(f"{PAIRED}: {files[path.stem].name} and {path.name} in {folder} have the same name; "
                            "pairs are matched by name, so keep one")
        files[path.stem] = path
    return files


def matched_files(folder: Path) -> list[tuple[Path, Path]]:
    """The (A, B) file pairs of ``folder/A`` and ``folder/B``, matched by name and sorted by it."""
    for side in ("A", "B"):
        if not (folder / side).is_dir():
            raise DataError(f"{PAIRED}: {folder / side} does not exist; A/ holds the sources, B/ their targets of the same names")
    a, b = by_stem(folder / "A"), by_stem(folder / "B")
    for mine, other, name, other_name in ((a, b, "A", "B"), (b, a, "B", "A")):
        lone = sorted(mine.keys() - other.keys())
        if lone:
            count = f"1 file of {name} has" if len(lone) == 1 else f"{len(lone)} files of {name} have"
            raise DataError(f"{PAIRED}: {count} no match in {other_name} (first: {mine[lone[0]].name}) in {folder}")
    return [(a[stem], b[stem]) for stem in sorted(a)]


def read_pairs(root: Path, split: str, size: int, reader: Reader) -> tuple[Domain, Domain, str]:
    """Domains A and B of a paired root's split, and its layout: ``A/B`` (flat or per split) or ``side-by-side``."""
    a, b = Domain(size), Domain(size)
    flat = (root / "A").exists() or (root / "B").exists()
    folder = root if flat else split_folder(root, split)
    if folder is None:
        wanted = "a test/ or val/ folder" if split == "test" else "a train/ folder"
        raise DataError(f"{PAIRED}: {root} has neither A/ and B/ folders nor {wanted}; it needs {PAIRED_LAYOUT}")
    if flat or (folder / "A").exists() or (folder / "B").exists():
        for path_a, path_b in matched_files(folder):
            a.add(reader.open(path_a))
            b.add(reader.open(path_b))
        return a, b, "A/B" if flat else f"{folder.name}/A, {folder.name}/B"
    for path in image_files(PAIRED, folder):
        image = reader.open(path)
        width, height = image.size
        if width % 2:
            raise DataError(f"{PAIRED}: {path} is {width} pixels wide; a side-by-side image needs an even width "
                            "(A the left half, B the right)")
        a.add(image.crop((0, 0, width // 2, height)))
        b.add(image.crop((width // 2, 0, width, height)))
    return a, b, f"side-by-side {folder.name}/"


def translation_info(source: Tensor, target: Tensor, paired: bool, swap: bool, extras: dict[str, Any]) -> DataInfo:
    """The DataInfo of translation data: the target's shape, the source's as ``condition_shape``."""
    return DataInfo("translation", tuple(target.shape[1:]), extras={
        "condition_shape": list(source.shape[1:]), "paired": paired, "domains": ["B", "A"] if swap else ["A", "B"],
        **extras})


def load_paired(request: DataRequest) -> TensorData:
    """Pairs from --data-root (A/ and B/ matched by name, or pix2pix's side-by-side images), in memory as uint8."""
    wanted = settings(PAIRED, request)
    root = data_root(PAIRED, request, PAIRED_LAYOUT)
    reader = Reader(PAIRED, root)
    a, b, layout = read_pairs(root, request.split, wanted.size, reader)
    source, target = (b, a) if wanted.swap else (a, b)
    sources, targets = source.tensor(wanted.channels), target.tensor(wanted.channels)
    info = translation_info(sources, targets, True, wanted.swap, {"layout": layout, "identity": reader.identity(wanted.swap)})
    return TensorData(targets, None, info, condition=sources)


def load_unpaired(request: DataRequest) -> UnpairedData:
    """Two domains from CycleGAN's folders (``trainA/``, ``trainB/``, ...), in memory as uint8, without pairs."""
    wanted = settings(UNPAIRED, request)
    root = data_root(UNPAIRED, request, UNPAIRED_LAYOUT)
    reader = Reader(UNPAIRED, root)
    domains = []
    for side in ("A", "B"):
        folder = root / f"{request.split}{side}"
        if not folder.is_dir():
            raise DataError(f"{UNPAIRED}: {folder} does not exist; it needs {UNPAIRED_LAYOUT}")
        domain = Domain(wanted.size)
        for path in image_files(UNPAIRED, folder):
            domain.add(reader.open(path))
        domains.append(domain)
    source, target = reversed(domains) if wanted.swap else domains
    sources, targets = source.tensor(wanted.channels), target.tensor(wanted.channels)
    info = translation_info(sources, targets, False, wanted.swap, {
        "layout": f"{request.split}A/, {request.split}B/", "identity": reader.identity(wanted.swap)})
    return UnpairedData(sources, targets, info)


FOLDER_OPTIONS = {
    "channels": Option("auto", "channels of the images: 1 (grey), 3 (RGB) or auto, per domain (1 when every image of "
                               "the domain shows greys only, else 3)", choices=CHANNELS),
    "direction": Option("a2b", "a2b: domain A the sources, B the targets; b2a: the other way round", choices=DIRECTIONS),
}

PAIRED_FOLDER = DatasetSpec(
    PAIRED, "image pairs from --data-root: A/ and B/ matched by file name, or pix2pix's side-by-side AB images "
            "(train/, test/ or val/); held in memory", "translation", load_paired,
    source="your files (pix2pix's datasets as they unpack)", options=FOLDER_OPTIONS, reads_files=True,
)

UNPAIRED_FOLDER = DatasetSpec(
    UNPAIRED, "two image domains without pairs from --data-root, in CycleGAN's layout (trainA/, trainB/, testA/, "
              "testB/); held in memory", "translation", load_unpaired,
    source="your files (CycleGAN's datasets as they unpack)", options=FOLDER_OPTIONS, reads_files=True,
)

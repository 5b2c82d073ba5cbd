"""`folder`: any directory of images, with optional class sub-folders.

Files that are not readable images are skipped with a count; grayscale, RGBA, palette, CMYK
and 16-bit images are converted to the dataset's channel count (``channels``: 1, 3, or auto,
1 when every file is stored grayscale). A file whose header looks fine but whose pixels cannot
be decoded (a truncated JPEG, say) is found only when it is read; it is then replaced by the
next readable file, with a warning that names it, so training goes on and stays reproducible.

The scan reads every file once and hashes its bytes: the folder's identity (resolved path and a
digest of its files' relative paths and contents) goes into ``DataInfo.extras['identity']``, so
an extractor fitted on one folder is never taken for another's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageChops, UnidentifiedImageError

from ganzoo.data.base import DataInfo, DataRequest, StreamData
from ganzoo.data.images import check_image_size
from ganzoo.data.vision import image_transform
from ganzoo.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
DEFAULT_SIZE = 64
log = logging.getLogger(__name__)


UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
GRAY_MODES = {"1", "L", "LA", "La", "F"}
"""PIL modes with one grey level per pixel (besides every 'I...' integer mode)."""


def _grey_palette(data: bytes) -> bool:
    """Whether a palette image shows greys only; it is decoded to tell (palette images are small as a rule).

    One that cannot be decoded counts as colour here and is replaced when it is read, like any other.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            red, green, blue = image.convert("RGB").split()
    except UNREADABLE:
        return False
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def _inspect(path: Path) -> tuple[bytes, bool] | None:
    """A file's SHA-256 and whether it is stored grayscale; None when it is not a readable image.

    One read of the bytes serves both the hash and a cheap header check (the pixels are not decoded).
    """
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            mode = image.mode
            image.verify()
    except UNREADABLE:
        return None
    gray = mode in GRAY_MODES or mode.startswith("I") or (mode in ("P", "PA") and _grey_palette(data))
    return hashlib.sha256(data).digest(), gray


def to_mode(image: Image.Image, mode: str) -> Image.Image:
    """Convert any PIL image to 'L' or 'RGB': transparency over white, 16-bit and float scaled to 8 bits."""
    if image.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    elif image.mode.startswith("I") or image.mode == "F":  # 16/32-bit integer or float grey levels
        values = np.asarray(image, dtype=np.float64)
        peak = values.max(initial=0.0)
        if image.mode.startswith("I;16"):
            full = 65535.0
        elif image.mode == "F" and peak <= 1.0:
            full = 1.0
        else:
            full = 255.0 if peak <= 255 else 65535.0
        image = Image.fromarray(np.clip(values / full * 255.0 + 0.5, 0, 255).astype(np.uint8))
    elif image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    return image.convert(mode)


@dataclass(frozen=True)
class FolderScan:
    """What a scan of an image folder found."""

    root: Path
    """The folder, resolved (absolute, links followed)."""
    files: list[Path]
    labels: list[int]
    classes: list[str]
    skipped: int
    grayscale: bool
    """Every image is stored grayscale (so ``channels: auto`` loads 1 channel)."""
    content_sha256: str
    """SHA-256 over every image's path relative to the root and the SHA-256 of its bytes, in scan order."""

    def identity(self) -> dict[str, Any]:
        """What tells this folder from any other: its resolved path and its content digest.

        ``digest`` hashes both; ``name`` is the folder's name made safe for file names.
        """
        root = str(self.root)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.root.name).strip("-.") or "root"
        digest = hashlib.sha256(f"{root}\n{self.content_sha256}".encode()).hexdigest()
        return {"name": name, "root": root, "files": len(self.files), "content_sha256": self.content_sha256,
                "digest": digest}


def scan_folder(root: Path) -> FolderScan:
    """The image files under root with their class index, the class names, the number skipped and the digests."""
    if not root.exists():
        raise DataError(f"folder: {root} does not exist; pass --data-root DIR with your images")
    if not root.is_dir():
        raise DataError(f"folder: {root} is not a directory; pass --data-root DIR with your images")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    classes = [d.name for d in subdirs] if subdirs else []
    groups = [(i, d) for i, d in enumerate(subdirs)] if subdirs else [(0, root)]
    files: list[Path] = []
    labels: list[int] = []
    skipped = 0
    grayscale = True
    content = hashlib.sha256()
    for label, directory in groups:
        pattern = "**/*" if subdirs else "*"
        for path in sorted(directory.glob(pattern)):
            if not path.is_file() or path.name.startswith("."):
                continue
            found = _inspect(path) if path.suffix.lower() in IMAGE_SUFFIXES else None
            if found is None:
                skipped += 1
                continue
            file_digest, gray = found
            files.append(path)
            labels.append(label)
            grayscale = grayscale and gray
            content.update(path.relative_to(root).as_posix().encode() + b"\0" + file_digest)
    if not files:
        raise DataError(f"folder: no readable images in {root} ({skipped} other files skipped)")
    return FolderScan(root.resolve(), files, labels, classes, skipped, grayscale, content.hexdigest())


class ImageFiles(torch.utils.data.Dataset):
    """Image files -> (tensor in [-1, 1] with the requested channels, class index)."""

    def __init__(self, files: list[Path], labels: list[int], size: int, channels: int) -> None:
        self.files, self.labels = files, labels
        self.mode = "L" if channels == 1 else "RGB"
        self.transform = image_transform(size)
        self.warned: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def _decode(self, index: int) -> Image.Image:
        with Image.open(self.files[index]) as image:
            image.load()
            return to_mode(image, self.mode)

    def __getitem__(self, index: int):
        for offset in range(len(self.files)):
            candidate = (index + offset) % len(self.files)
            try:
                image = self._decode(candidate)
            except UNREADABLE as exc:
                if candidate not in self.warned:
                    self.warned.add(candidate)
                    log.warning("folder: cannot decode %s (%s); using the next readable image in its place",
                                self.files[candidate], exc)
                continue
            return self.transform(image), self.labels[candidate]
        raise DataError("folder: none of the images can be decoded")


def channels_option(value: Any) -> int | None:
    """The ``channels`` option: 1 or 3, or None for auto (decided by the scan)."""
    if str(value) == "auto":
        return None
    try:
        channels = int(value)
    except (TypeError, ValueError):
        channels = 0
    if channels not in (1, 3):
        raise DataError(f"folder: channels must be 1, 3 or auto, got {value!r}")
    return channels


def load_folder(request: DataRequest) -> StreamData:
    """Images from --data-root; class sub-folders become labels; ``channels`` 1, 3 or auto (1 for an all-grey folder)."""
    if request.root is None:
        raise DataError("folder: pass --data-root DIR, a directory of images (class sub-folders optional)")
    size = request.image_size or DEFAULT_SIZE
    check_image_size(size)
    requested = channels_option(request.options.get("channels", "auto"))
    scan = scan_folder(Path(request.root).expanduser())
    channels = requested or (1 if scan.grayscale else 3)
    if scan.skipped:
        log.warning("folder: skipped %d files that are not readable images", scan.skipped)
    info = DataInfo("image", (channels, size, size), num_classes=len(scan.classes),
                    extras={"classes": scan.classes, "identity": scan.identity()})
    return StreamData(ImageFiles(scan.files, scan.labels, size, channels), info)

"""`folder`: any directory of images, with optional class sub-folders.

Files that are not readable images are skipped with a count; grayscale, RGBA, palette, CMYK
and 16-bit images are converted to the dataset's channel count. A file whose header looks fine
but whose pixels cannot be decoded (a truncated JPEG, say) is found only when it is read; it is
then replaced by the next readable file, with a warning that names it, so training goes on and
stays reproducible.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganzoo.data.base import DataInfo, DataRequest, StreamData
from ganzoo.data.images import check_image_size
from ganzoo.data.vision import image_transform
from ganzoo.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
DEFAULT_SIZE = 64
log = logging.getLogger(__name__)


UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _readable(path: Path) -> bool:
    """A cheap header check (it does not decode the pixels)."""
    try:
        with Image.open(path) as image:
            image.verify()
        return True
    except UNREADABLE:
        return False


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


def scan_folder(root: Path) -> tuple[list[Path], list[int], list[str], int]:
    """Image files under root, their class index, the class names and the number skipped."""
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
    for label, directory in groups:
        pattern = "**/*" if subdirs else "*"
        for path in sorted(directory.glob(pattern)):
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.suffix.lower() in IMAGE_SUFFIXES and _readable(path):
                files.append(path)
                labels.append(label)
            else:
                skipped += 1
    if not files:
        raise DataError(f"folder: no readable images in {root} ({skipped} other files skipped)")
    return files, labels, classes, skipped


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


def load_folder(request: DataRequest) -> StreamData:
    """Images from --data-root; class sub-folders become labels; ``channels`` option 1 or 3."""
    if request.root is None:
        raise DataError("folder: pass --data-root DIR, a directory of images (class sub-folders optional)")
    size = request.image_size or DEFAULT_SIZE
    check_image_size(size)
    channels = int(request.options.get("channels", 3))
    if channels not in (1, 3):
        raise DataError(f"folder: channels must be 1 or 3, got {channels}")
    files, labels, classes, skipped = scan_folder(Path(request.root).expanduser())
    if skipped:
        log.warning("folder: skipped %d files that are not readable images", skipped)
    info = DataInfo("image", (channels, size, size), num_classes=len(classes), extras={"classes": classes})
    return StreamData(ImageFiles(files, labels, size, channels), info)

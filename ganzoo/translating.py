"""Translating images with a trained image-to-image run (``ganzoo translate``), and its sample rows.

Inputs are an image file, a folder of images (one output per input, with the same file name) or a
split of the run's own dataset. Images are read with Pillow, converted to the run's source channels
and resized to its source size; outputs are written atomically.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.errors import ConfigError, DataError
from ganzoo.nets.base import Generator
from ganzoo.plugins import get_registry
from ganzoo.sampling import LoadedRun, load_run, split_sources
from ganzoo.storage.checkpoint import atomic_write_bytes

DIRECTIONS = ("a2b", "b2a")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


@dataclass(frozen=True)
class Translated:
    """What a translation wrote: one file per input, and where."""

    out: Path
    files: list[Path]


def translator(loaded: LoadedRun, direction: str = "a2b") -> Generator:
    """The run's generator for ``direction``: a2b is the trained direction, b2a the inverse where one was learnt."""
    G = loaded.generator
    if not G.image_conditioned:
        raise ConfigError(f"{loaded.spec.name!r} does not translate images: its generator takes no source image")
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    if direction == "a2b":
        return G
    inverse = G.inverse()
    if inverse is None:
        raise ConfigError(f"{loaded.spec.name!r} learns one direction only (a2b); b2a needs a model such as cyclegan")
    return inverse


def _read_image(path: Path, shape: tuple[int, ...]) -> Tensor:
    """One image file -> (C, H, W) floats in [-1, 1] of the run's source shape."""
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BICUBIC)
            data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None
    return data.view(height, width, channels).permute(2, 0, 1).float().div(127.5).sub(1.0)


def _png_bytes(image: Tensor, suffix: str = ".png") -> bytes:
    from PIL import Image

    pixels = image.detach().float().cpu().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8)
    array = pixels.permute(1, 2, 0).squeeze(-1).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=Image.registered_extensions().get(suffix.lower(), "PNG"))
    return buffer.getvalue()


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def _translate_all(G: Generator, sources: Tensor, batch_size: int) -> Tensor:
    out = []
    with torch.no_grad():
        for begin in range(0, len(sources), batch_size):
            part = sources[begin:begin + batch_size].to(G.device)
            out.append(G.sample(len(part), labels=part).float().cpu())
    return torch.cat(out)


def translate(path: str | Path, inputs: str | Path, out: str | Path, *, direction: str = "a2b",
              weights: str = "auto", device: str = "cpu", batch_size: int = 64) -> Translated:
    """Translate an image, a folder of images, or a split of the run's dataset (``inputs`` names the split
    when no such file exists) with the run at ``path``; writes one image per input into ``out``."""
    loaded = load_run(path, device, weights=weights)
    G = translator(loaded, direction)
    source_shape = tuple(G.condition_shape)
    inputs, out = Path(inputs), Path(out)
    if inputs.is_file() or inputs.is_dir():
        files = [inputs] if inputs.is_file() else _image_files(inputs)
        sources = torch.stack([_read_image(f, source_shape) for f in files])
        names = [f.name for f in files]
    else:
        splits = _splits(loaded)
        if str(inputs) not in splits:
            raise DataError(f"{inputs}: no such file or folder, nor a split of dataset "
                            f"{loaded.config['dataset']!r} ({', '.join(splits)})")
        sources, _ = split_sources(loaded, str(inputs), direction)
        names = [f"{i:05d}.png" for i in range(len(sources))]
    translated = _translate_all(G, sources, batch_size)
    written = []
    for name, image in zip(names, translated, strict=True):
        target = out / name
        atomic_write_bytes(target, _png_bytes(image, target.suffix))
        written.append(target)
    return Translated(out, written)


def _splits(loaded: LoadedRun) -> list[str]:
    dataset = get_registry().dataset(loaded.config["dataset"])
    return list(dict.fromkeys(s for s in (loaded.config["split"], dataset.heldout_split) if s))

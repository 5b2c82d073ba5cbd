"""The ``fonts`` dataset: glyphs of a source font translated into a target font, paired by character.

The training split holds the training characters, the ``test`` split the characters training never
sees (a seeded split, at least 50 by default). With ``data.pairing = "unpaired"`` (CycleGAN's default; a
core option of all translation data) the training split serves the two fonts as two independently
shuffled domains, so no pair is ever seen; the test split stays paired, so every model is scored
against the true target glyphs.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from ganzoo.plugin import ConfigError, DataError, DataInfo, DataRequest, DatasetSpec, Option, TensorData
from ganzoo_translation.fonts import DEFAULT_SOURCE, DEFAULT_TARGET, SIZES, GlyphPair, render_pair

SPLITS = ("train", "test")
DEFAULT_SIZE = 64


def as_uint8(glyphs: Tensor) -> Tensor:
    """Glyph floats in [-1, 1] -> uint8 0..255 (how TensorData holds images)."""
    return glyphs.add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


@functools.lru_cache(maxsize=4)
def _pair(source: str, target: str, chars: str | None, size: int, test_chars: int | None, seed: int) -> GlyphPair:
    """Render once per process: the train and test splits (and the scores) share one rendering."""
    return render_pair(source, target, chars, size, test_chars, seed)


def pair_for(request: DataRequest) -> GlyphPair:
    """The glyph pair a request asks for (fonts, characters, size, split seed)."""
    options = request.options
    size = request.image_size or DEFAULT_SIZE
    if size not in SIZES:
        raise ConfigError(f"fonts renders glyphs at {', '.join(map(str, SIZES))} px; got image_size {size}")
    chars = str(options.get("chars") or "") or None
    test_chars = options.get("test_chars")
    return _pair(str(options["source_font"]), str(options["target_font"]), chars, size,
                 None if test_chars is None else int(test_chars), int(options["split_seed"]))


def load_fonts(request: DataRequest) -> TensorData:
    """One split of a font pair: source glyphs as conditions, target glyphs as samples."""
    if request.split not in SPLITS:
        raise DataError(f"fonts has splits {', '.join(SPLITS)}; got {request.split!r}")
    pair = pair_for(request)
    indices = pair.train if request.split == "train" else pair.test
    sources, targets = as_uint8(pair.source.images[indices]), as_uint8(pair.target.images[indices])
    info = DataInfo("translation", tuple(targets.shape[1:]), extras={
        "condition_shape": list(sources.shape[1:]),
        "paired": True,
        "domains": [pair.source.font.stem, pair.target.font.stem],
        "source_font": str(pair.source.font),
        "target_font": str(pair.target.font),
        "font_size": pair.font_size,
        "image_size": pair.source.size,
        "chars": pair.chars,
        "split_chars": pair.train_chars if request.split == "train" else pair.test_chars,
        "train_count": len(pair.train),
        "test_count": len(pair.test),
    })
    return TensorData(targets, None, info, condition=sources)


FONTS = DatasetSpec(
    "fonts", "glyphs of a source font and a target font paired by character (Pillow/FreeType, offline); "
    "a seeded split holds out characters training never sees", "translation", load_fonts,
    source="rendered from font files (matplotlib's bundled fonts by default)",
    options={
        "source_font": Option(DEFAULT_SOURCE, "source font: a name (ganzoo info fonts) or a .ttf/.otf/.ttc path"),
        "target_font": Option(DEFAULT_TARGET, "target font: a name or a .ttf/.otf/.ttc path"),
        "chars": Option("", "characters to render: a string, or a file of them (empty: every Latin, Latin-1, Greek and "
                            "Cyrillic letter and digit both fonts cover)"),
        "test_chars": Option(None, "characters held out for the test split (default: 15%, at least 50)", 1, None,
                             kind=int, nullable=True),
        "split_seed": Option(0, "seed of the train/test split of the characters", 0, 2**31 - 1),
    },
)

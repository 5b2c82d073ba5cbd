"""Glyphs of fonts rendered offline and paired by character: the core of the ``fonts`` dataset (issue 16).

Every glyph is drawn by Pillow's FreeType renderer (basic layout, so the pixels do not depend on
whether libraqm is installed) at ONE font size per font pair, on ONE baseline shared by the pair,
and centred horizontally by its ink. Glyphs are never stretched to fill their box: the differences
in size and weight ('o' against 'O', regular against bold) are what tell the styles apart.

Images are white glyphs on black: float tensors in [-1, 1] (background -1, full ink +1) shaped
(N, 1, S, S) for S in 32, 64, 128, with the same pixels on every run.

A font covers a character when its Unicode cmap maps it to a glyph (read with fontTools, a
dependency of matplotlib) and the rendered glyph has ink and differs from the font's .notdef glyph.
Characters a font lacks are dropped and counted, never drawn as blanks or tofu boxes.
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import os
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from ganzoo.plugin import ConfigError, DataError

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
DEFAULT_SOURCE = "DejaVu Sans"
DEFAULT_TARGET = "DejaVu Serif Italic"
SIZES = (32, 64, 128)
MIN_TEST_CHARS = 50
TEST_SHARE = 0.15
PROBE_FONT_SIZE = 48
"""Font size of the coverage check and of the first estimate of a pair's font size."""
REGULAR_STYLES = {"regular", "book", "roman", "normal"}
DEFAULT_RANGES = (
    (0x0030, 0x0039),  # digits
    (0x0041, 0x007A),  # Basic Latin letters (the letter test drops the punctuation between them)
    (0x00C0, 0x00FF),  # Latin-1 Supplement letters
    (0x0100, 0x017F),  # Latin Extended-A
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x04FF),  # Cyrillic
)
NONCHARACTERS = (0xFFFF, 0xFFFE, *range(0xFDD0, 0xFDF0))
"""Code points Unicode never assigns: rendering one shows a font's .notdef glyph."""
IGNORED_CATEGORIES = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}
"""Controls, format characters (a BOM), surrogates and white space: nothing to draw."""
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Glyphs:
    """One font's glyphs of ``chars``: white on black, (N, 1, size, size) floats in [-1, 1]."""

    font: Path
    chars: str
    images: Tensor
    size: int
    font_size: int
    dropped: str
    """The requested characters this font has no glyph for (left out)."""


@dataclass(frozen=True)
class GlyphPair:
    """Source and target glyphs of the same characters, at one font size on one baseline, with a
    seeded split: training never sees the ``test`` characters."""

    source: Glyphs
    target: Glyphs
    train: Tensor
    """Indices into ``chars`` (sorted) of the training characters."""
    test: Tensor
    twins: str = ""
    """Characters both fonts cover but left out: drawn pixel for pixel like an earlier kept character in both
    fonts (Latin 'A', Greek 'Α' and Cyrillic 'А' in DejaVu), so a held-out twin would not be unseen."""

    @property
    def chars(self) -> str:
        return self.source.chars

    @property
    def font_size(self) -> int:
        return self.source.font_size

    @property
    def train_chars(self) -> str:
        return "".join(self.chars[i] for i in self.train.tolist())

    @property
    def test_chars(self) -> str:
        return "".join(self.chars[i] for i in self.test.tolist())

    def summary(self) -> str:
        """One line: the fonts, what both cover, what each lacks, the twins, the split and the font size."""
        source, target = self.source, self.target
        return (f"fonts: {source.font.name} -> {target.font.name}: {len(self.chars)} characters "
                f"({len(source.dropped)} missing from the source, {len(target.dropped)} from the target, "
                f"{len(self.twins)} twins of others left out), {len(self.test)} held out for test; "
                f"font size {self.font_size} at {source.size} px")


@dataclass(frozen=True)
class _Ink:
    """A glyph's ink, cropped, placed relative to the pen origin on the baseline (``top`` < 0: above it)."""

    pixels: np.ndarray
    left: int
    top: int

    @property
    def blank(self) -> bool:
        return self.pixels.size == 0

    def same(self, other: _Ink | None) -> bool:
        return (other is not None and (self.left, self.top) == (other.left, other.top)
                and np.array_equal(self.pixels, other.pixels))


def default_chars() -> str:
    """Digits and the letters of Latin (Basic, Latin-1, Extended-A), Greek and Cyrillic, in code point order."""
    return "".join(chr(c) for low, high in DEFAULT_RANGES for c in range(low, high + 1)
                   if unicodedata.category(chr(c)) in ("Nd", "Lu", "Ll", "Lt", "Lo"))


def _key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name).casefold()


def _font_names(path: Path) -> list[str]:
    """The names a font answers to: its full name, family and style, family alone when regular, file stem."""
    with TTFont(path, lazy=True) as font:
        table = font["name"]
        full, family, style = (table.getDebugName(i) for i in (4, 1, 2))
    names = [full] if full else []
    if family and style:
        names.append(f"{family} {style}")
        if style.casefold() in REGULAR_STYLES:
            names.append(family)
    return [*names, path.stem]


def font_dir() -> Path:
    """matplotlib's bundled fonts (DejaVu, STIX, Computer Modern): present on every install. Imported
    here, not at module level, so that listing plugins does not load matplotlib."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.cache
def bundled_fonts() -> dict[str, Path]:
    """matplotlib's bundled fonts by name ('DejaVu Serif Italic', 'STIXGeneral', 'cmr10', ...), one name per
    spelling (case, spaces, '-' and '_' do not count); the first file in name order wins a shared name."""
    fonts: dict[str, tuple[str, Path]] = {}
    for path in sorted(font_dir().glob("*.ttf")):
        for name in _font_names(path):
            fonts.setdefault(_key(name), (name, path))
    return dict(sorted(fonts.values()))


def _looks_like_path(font: str) -> bool:
    return font.casefold().endswith(FONT_SUFFIXES) or "/" in font or os.sep in font


def _check_font_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"fonts: font file {path} does not exist")
    try:
        ImageFont.truetype(str(path), PROBE_FONT_SIZE)
    except OSError as exc:
        raise DataError(f"fonts: {path} is not a font file FreeType can read ({exc})") from exc
    return path.resolve()


def _unknown_font(name: str) -> ConfigError:
    by_key = {_key(known): known for known in bundled_fonts()}
    close = [by_key[k] for k in difflib.get_close_matches(_key(name), list(by_key), n=3, cutoff=0.6)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ConfigError(f"fonts: no font named {name!r}{hint} (name one of matplotlib's fonts, e.g. "
                       f"{DEFAULT_SOURCE!r}, {DEFAULT_TARGET!r}, 'STIXGeneral', or pass a .ttf/.otf/.ttc path)")


def resolve_font(font: str | Path) -> Path:
    """The font file for the name of a bundled font (see :func:`bundled_fonts`) or for a .ttf/.otf/.ttc
    path (a collection's first face is used), checked to be a font FreeType can read."""
    if isinstance(font, Path) or _looks_like_path(font):
        return _check_font_file(Path(font).expanduser())
    by_key = {_key(name): path for name, path in bundled_fonts().items()}
    if _key(font) not in by_key:
        raise _unknown_font(font)
    return by_key[_key(font)]


@functools.lru_cache(maxsize=64)
def _cmap(path: Path) -> frozenset[int]:
    """The code points the font's best Unicode cmap maps to a real glyph (not glyph 0, .notdef)."""
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            notdef = font.getGlyphOrder()[0]
            cmap = font.getBestCmap() or {}
    except (TTLibError, KeyError) as exc:
        raise DataError(f"fonts: cannot read the character map of {path}: {exc}") from exc
    return frozenset(code for code, glyph in cmap.items() if glyph != notdef)


@functools.lru_cache(maxsize=64)
def _load(path: Path, font_size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), font_size, index=0, layout_engine=ImageFont.Layout.BASIC)


def _ink(font: ImageFont.FreeTypeFont, char: str) -> _Ink:
    """Render one glyph on a canvas of Pillow's own glyph box and crop it to its ink."""
    left, top, right, bottom = font.getbbox(char, anchor="ls")
    canvas = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(canvas).text((-left, -top), char, fill=255, font=font, anchor="ls")
    pixels = np.asarray(canvas)
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    if not len(rows):
        return _Ink(np.zeros((0, 0), np.uint8), 0, 0)
    crop = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
    return _Ink(crop, left + int(cols[0]), top + int(rows[0]))


def _covered(path: Path, chars: str) -> str:
    """The characters of ``chars`` the font's cmap maps whose glyph has ink and is not the .notdef glyph."""
    cmap = _cmap(path)
    font = _load(path, PROBE_FONT_SIZE)
    missing = next((code for code in NONCHARACTERS if code not in cmap), None)
    notdef = _ink(font, chr(missing)) if missing is not None else None
    return "".join(c for c in chars if ord(c) in cmap and not (ink := _ink(font, c)).blank and not ink.same(notdef))


def covered(font: str | Path, chars: str | Path | None = None) -> str:
    """The characters of ``chars`` (see :func:`read_chars`) that ``font`` has a glyph for, in their order."""
    return _covered(resolve_font(font), read_chars(chars))


def _names_file(chars: str) -> bool:
    return chars.casefold().endswith(".txt") or "/" in chars or os.sep in chars


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"fonts: chars file {path} does not exist")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"fonts: chars file {path} is not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                        f"{exc.start})") from exc


def read_chars(chars: str | Path | None = None) -> str:
    """The characters to render, each once in first-seen order, NFC-normalised, white space and controls left out.

    ``chars`` is the characters themselves, or a UTF-8 file of them when it is a Path or a string with a
    '/' or a .txt suffix (put '/' in a file to render it); None: :func:`default_chars`.
    """
    if chars is None:
        return default_chars()
    from_file = isinstance(chars, Path) or _names_file(chars)
    text = _read_text(Path(chars).expanduser()) if from_file else chars
    drawable = (c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c) not in IGNORED_CATEGORIES)
    kept = "".join(dict.fromkeys(drawable))
    if not kept:
        where = f"chars file {chars}" if from_file else "the chars string"
        raise (DataError if from_file else ConfigError)(f"fonts: {where} has no characters to draw")
    return kept


def _check_size(size: int) -> None:
    if size not in SIZES:
        raise ConfigError(f"fonts: image size must be one of {', '.join(map(str, SIZES))}, got {size}")


def _margin(size: int) -> int:
    return size // 16


def _inks(path: Path, chars: str, font_size: int) -> list[_Ink]:
    font = _load(path, font_size)
    return [_ink(font, c) for c in chars]


def _extent(inks: Sequence[_Ink]) -> tuple[int, int, int]:
    """(top, bottom, width) of the glyphs drawn on one baseline: the highest and lowest ink rows
    (bottom exclusive) and the widest glyph."""
    drawn = [ink for ink in inks if not ink.blank]
    top = min(ink.top for ink in drawn)
    bottom = max(ink.top + ink.pixels.shape[0] for ink in drawn)
    return top, bottom, max(ink.pixels.shape[1] for ink in drawn)


def _side(inks: Sequence[_Ink]) -> int:
    top, bottom, width = _extent(inks)
    return max(bottom - top, width)


def _fit(paths: Sequence[Path], chars: str, size: int) -> tuple[int, list[list[_Ink]]]:
    """The largest font size at which every glyph of every font fits one size x size image (less a margin)
    on one shared baseline, with the glyphs rendered at it."""
    room = size - 2 * _margin(size)

    def render(font_size: int) -> list[list[_Ink]]:
        return [_inks(path, chars, font_size) for path in paths]

    def fits(rendered: list[list[_Ink]]) -> bool:
        return _side([ink for inks in rendered for ink in inks]) <= room

    probe = render(PROBE_FONT_SIZE)
    font_size = max(1, PROBE_FONT_SIZE * room // _side([ink for inks in probe for ink in inks]))
    rendered = render(font_size)
    while font_size > 1 and not fits(rendered):
        font_size -= 1
        rendered = render(font_size)
    while fits(bigger := render(font_size + 1)):
        font_size, rendered = font_size + 1, bigger
    return font_size, rendered


def _compose(inks: Sequence[_Ink], size: int, top: int, bottom: int) -> Tensor:
    """The glyphs on one baseline (placed so ink rows top..bottom are centred), each centred horizontally
    by its ink: (N, 1, size, size) floats in [-1, 1], white on black."""
    baseline = (size - (bottom - top)) // 2 - top
    out = np.zeros((len(inks), size, size), np.uint8)
    for image, ink in zip(out, inks, strict=True):
        height, width = ink.pixels.shape
        y, x = baseline + ink.top, (size - width) // 2
        image[y : y + height, x : x + width] = ink.pixels
    return torch.from_numpy(out).unsqueeze(1).float().div_(127.5).sub_(1.0)


def _missing(wanted: str, kept: str) -> str:
    have = set(kept)
    return "".join(c for c in wanted if c not in have)


def render_glyphs(font: str | Path, chars: str | Path | None = None, size: int = 64,
                  font_size: int | None = None) -> Glyphs:
    """One font's glyphs of the characters it covers (e.g. of other fonts, to fit a character classifier).

    ``font_size`` None: the largest at which every glyph fits; a given one must fit too.
    """
    path = resolve_font(font)
    _check_size(size)
    wanted = read_chars(chars)
    kept = _covered(path, wanted)
    if not kept:
        raise DataError(f"fonts: {path.name} covers none of the {len(wanted)} characters asked for")
    if font_size is None:
        font_size, (inks,) = _fit([path], kept, size)
    else:
        inks = _inks(path, kept, font_size)
        if _side(inks) > size - 2 * _margin(size):
            largest, _ = _fit([path], kept, size)
            raise ConfigError(f"fonts: at font size {font_size} glyphs of {path.name} overflow a {size} px image; "
                              f"the largest font size that fits is {largest}")
    top, bottom, _ = _extent(inks)
    dropped = _missing(wanted, kept)
    if dropped:
        log.info("fonts: %s lacks %d of the %d characters asked for", path.name, len(dropped), len(wanted))
    return Glyphs(path, kept, _compose(inks, size, top, bottom), size, font_size, dropped)


def default_test_count(n: int) -> int:
    """How many characters are held out by default: at least 50, at least 15%."""
    return max(MIN_TEST_CHARS, math.ceil(TEST_SHARE * n))


def split_chars(n: int, test_chars: int | None = None, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Sorted (train, test) indices of n characters, test_chars of them (default: default_test_count) drawn by seed."""
    test = default_test_count(n) if test_chars is None else test_chars
    if test < 1:
        raise ConfigError(f"fonts: test_chars must be at least 1, got {test}")
    if test >= n:
        raise ConfigError(f"fonts: {test} test characters leave none of the {n} for training; pass a smaller test_chars")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[test:].sort().values, order[:test].sort().values


def _drop_twins(paths: Sequence[Path], chars: str) -> tuple[str, str]:
    """(kept, twins): each character whose glyphs in every font are pixel-identical to an earlier one's is a twin."""
    fonts = [_load(path, PROBE_FONT_SIZE) for path in paths]
    kept, twins, seen = [], [], set()
    for char in chars:
        look = tuple((ink.left, ink.top, ink.pixels.shape, ink.pixels.tobytes()) for ink in (_ink(f, char) for f in fonts))
        (twins if look in seen else kept).append(char)
        seen.add(look)
    return "".join(kept), "".join(twins)


def render_pair(source: str | Path = DEFAULT_SOURCE, target: str | Path = DEFAULT_TARGET,
                chars: str | Path | None = None, size: int = 64, test_chars: int | None = None,
                seed: int = 0) -> GlyphPair:
    """Glyphs of the characters both fonts cover (twins left out, see ``GlyphPair.twins``), at one font size and
    baseline, split into train and test."""
    paths = resolve_font(source), resolve_font(target)
    _check_size(size)
    wanted = read_chars(chars)
    found = [_covered(path, wanted) for path in paths]
    both = "".join(c for c in found[0] if c in set(found[1]))
    if not both:
        raise DataError(f"fonts: none of the {len(wanted)} characters asked for is covered by both "
                        f"{paths[0].name} ({len(found[0])} covered) and {paths[1].name} ({len(found[1])} covered)")
    kept, twins = _drop_twins(paths, both)
    train, test = split_chars(len(kept), test_chars, seed)
    font_size, rendered = _fit(paths, kept, size)
    top, bottom, _ = _extent([ink for inks in rendered for ink in inks])
    source_glyphs, target_glyphs = (
        Glyphs(path, kept, _compose(inks, size, top, bottom), size, font_size, _missing(wanted, has))
        for path, inks, has in zip(paths, rendered, found, strict=True)
    )
    pair = GlyphPair(source_glyphs, target_glyphs, train, test, twins)
    log.info(pair.summary())
    return pair

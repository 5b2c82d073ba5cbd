"""The glyph renderer of the `fonts` translation dataset (issue 16): coverage, layout, split, bad input."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest
import torch
from fontTools.ttLib import TTCollection, TTFont

from ganzoo.errors import ConfigError, DataError
from ganzoo_translation import fonts
from ganzoo_translation.fonts import (
    DEFAULT_SOURCE,
    DEFAULT_TARGET,
    covered,
    font_dir,
    read_chars,
    render_glyphs,
    render_pair,
    resolve_font,
    split_chars,
)

ARPHIC = Path("/usr/share/fonts/truetype/arphic")


@pytest.fixture(scope="module")
def latin() -> fonts.GlyphPair:
    """The default Latin pair at 64 px."""
    return render_pair()


def ink_rows(image: torch.Tensor) -> torch.Tensor:
    return torch.nonzero((image[0] > -1).any(dim=1)).flatten()


def ink_cols(image: torch.Tensor) -> torch.Tensor:
    return torch.nonzero((image[0] > -1).any(dim=0)).flatten()


def glyph(glyphs: fonts.Glyphs, char: str) -> torch.Tensor:
    return glyphs.images[glyphs.chars.index(char)]


def digest(pair: fonts.GlyphPair) -> str:
    return hashlib.sha256(pair.source.images.numpy().tobytes() + pair.target.images.numpy().tobytes()).hexdigest()


def test_same_pixels_and_split_on_every_run(latin):
    fonts._load.cache_clear()
    fonts._cmap.cache_clear()
    again = render_pair()
    assert digest(again) == digest(latin)
    assert again.chars == latin.chars
    assert torch.equal(again.train, latin.train) and torch.equal(again.test, latin.test)


def test_default_latin_pair_holds_out_unseen_characters(latin):
    n = len(latin.chars)
    assert latin.source.font.name == "DejaVuSans.ttf" and latin.target.font.name == "DejaVuSerif-Italic.ttf"
    assert n > 300 and {"a", "Z", "0", "é", "Ł", "λ", "Ж"} <= set(latin.chars)
    assert len(latin.test) >= 50 and len(latin.test) == fonts.default_test_count(n)
    assert set(latin.train_chars).isdisjoint(latin.test_chars)
    assert sorted(latin.train.tolist() + latin.test.tolist()) == list(range(n))
    assert latin.source.images.shape == latin.target.images.shape == (n, 1, 64, 64)
    assert latin.source.images.min() == -1 and latin.source.images.max() == 1


def test_twins_are_left_out_so_no_test_character_was_seen_in_training(latin):
    assert "A" in latin.chars and "\u0391" not in latin.chars and "\u0391" in latin.twins  # Greek Alpha
    looks = {(s.numpy().tobytes(), t.numpy().tobytes()) for s, t in zip(latin.source.images, latin.target.images, strict=True)}
    assert len(looks) == len(latin.chars)


@pytest.mark.parametrize("size", fonts.SIZES)
def test_every_glyph_fits_inside_the_margin(size):
    pair = render_pair(chars="ÅÉjgqyWЖЩÿ", size=size, test_chars=2)
    margin = size // 16
    for images in (pair.source.images, pair.target.images):
        inked = images[:, 0] > -1
        assert not inked[:, :margin].any() and not inked[:, size - margin :].any()
        assert not inked[:, :, :margin].any() and not inked[:, :, size - margin :].any()


def test_glyphs_keep_their_size_weight_and_baseline(latin):
    for glyphs in (latin.source, latin.target):
        assert len(ink_rows(glyph(glyphs, "o"))) < len(ink_rows(glyph(glyphs, "O")))
        assert len(ink_cols(glyph(glyphs, "i"))) < len(ink_cols(glyph(glyphs, "W")))
    bottoms = {ink_rows(glyph(g, c))[-1].item() for g in (latin.source, latin.target) for c in "xXHnvA"}
    assert len(bottoms) == 1  # flat-bottomed letters sit on one baseline in both fonts
    regular = render_glyphs(DEFAULT_SOURCE, "Hamburg", font_size=latin.font_size)
    bold = render_glyphs("DejaVu Sans Bold", "Hamburg", font_size=latin.font_size)
    assert (bold.images + 1).sum() > 1.2 * (regular.images + 1).sum()


def test_glyphs_are_centred_horizontally(latin):
    for char in "iWmЖ":
        cols = ink_cols(glyph(latin.target, char))
        assert abs((cols[0] + cols[-1]).item() / 2 - 31.5) <= 1


def test_characters_a_font_lacks_are_dropped_and_counted():
    glyphs = render_glyphs(DEFAULT_SOURCE, "ab中文c")
    assert glyphs.chars == "abc" and glyphs.dropped == "中文"
    pair = render_pair(chars="abϢ中", test_chars=1)  # U+03E2: in DejaVu Sans, not in DejaVu Serif Italic
    assert pair.chars == "ab"
    assert pair.source.dropped == "中" and pair.target.dropped == "Ϣ中"
    assert covered(DEFAULT_TARGET, "abϢ中") == "ab"


def test_glyphs_a_font_maps_to_notdef_blank_or_a_copy_of_notdef_count_as_missing(tmp_path):
    font = TTFont(font_dir() / "DejaVuSans.ttf")
    font["glyf"].glyphs["tofu"] = copy.deepcopy(font["glyf"][".notdef"])
    font["hmtx"].metrics["tofu"] = font["hmtx"].metrics[".notdef"]
    font.setGlyphOrder([*font.getGlyphOrder(), "tofu"])
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap.update({ord("Q"): ".notdef", ord("R"): "space", ord("S"): "tofu"})
    path = tmp_path / "odd.ttf"
    font.save(path)
    assert covered(path, "PQRST") == "PT"


def test_font_names_and_paths_resolve():
    assert resolve_font("DejaVu Sans") == font_dir() / "DejaVuSans.ttf"
    assert resolve_font("dejavu serif italic") == font_dir() / "DejaVuSerif-Italic.ttf"
    assert resolve_font("STIXGeneral") == font_dir() / "STIXGeneral.ttf"
    assert resolve_font("cmr10") == font_dir() / "cmr10.ttf"
    assert resolve_font(str(font_dir() / "DejaVuSans-Bold.ttf")) == font_dir() / "DejaVuSans-Bold.ttf"


def test_a_font_collection_renders_its_first_face(tmp_path):
    collection = TTCollection()
    collection.fonts = [TTFont(font_dir() / "DejaVuSerif.ttf"), TTFont(font_dir() / "DejaVuSans.ttf")]
    path = tmp_path / "pair.ttc"
    collection.save(path)
    from_ttc = render_glyphs(path, "Rag", size=32)
    from_ttf = render_glyphs("DejaVu Serif", "Rag", size=32)
    assert torch.equal(from_ttc.images, from_ttf.images)


def test_chars_file_is_read_as_utf8_once_per_character(tmp_path):
    path = tmp_path / "chars.txt"
    path.write_text("\ufeffab\nba ç\n", encoding="utf-8")
    assert read_chars(path) == read_chars(str(path)) == "abç"
    assert read_chars("e\u0301e") == "ée"  # NFC: a decomposed é is one character


def test_split_is_seeded_and_sized():
    train, test = split_chars(200, 60, seed=3)
    assert len(test) == 60 and len(train) == 140
    assert torch.equal(split_chars(200, 60, seed=3)[1], test)
    assert not torch.equal(split_chars(200, 60, seed=4)[1], test)
    assert len(split_chars(1000)[1]) == 150


@pytest.mark.skipif(not (ARPHIC / "uming.ttc").exists() or not (ARPHIC / "ukai.ttc").exists(),
                    reason="fonts-arphic-uming / fonts-arphic-ukai not installed")
def test_chinese_fonts_pair_by_character():
    pair = render_pair(ARPHIC / "uming.ttc", ARPHIC / "ukai.ttc", chars="永和九年岁在癸丑暮春之初\U0001f600", test_chars=3)
    assert pair.chars == "永和九年岁在癸丑暮春之初"
    assert pair.source.dropped == pair.target.dropped == "\U0001f600"
    assert not torch.equal(pair.source.images, pair.target.images)


def bad_input_cases(tmp_path: Path) -> list[tuple[type, str, object]]:
    not_a_font = tmp_path / "notes.ttf"
    not_a_font.write_text("not a font\n")
    empty, latin1 = tmp_path / "empty.txt", tmp_path / "latin1.txt"
    empty.write_text(" \n\n")
    latin1.write_bytes("caf\xe9".encode("latin-1"))
    return [
        (DataError, "does not exist", lambda: render_pair(tmp_path / "missing.ttf")),
        (DataError, "not a font file", lambda: render_pair(DEFAULT_SOURCE, not_a_font)),
        (ConfigError, "did you mean 'DejaVu Sans'", lambda: render_pair("DejaVu Sanz")),
        (DataError, "covered by both", lambda: render_pair(chars="中文字")),
        (DataError, "covers none", lambda: render_glyphs("cmr10", "中")),
        (ConfigError, "no characters", lambda: render_pair(chars=" \n\t")),
        (DataError, "no characters", lambda: render_pair(chars=empty)),
        (DataError, "not UTF-8", lambda: render_pair(chars=latin1)),
        (DataError, "does not exist", lambda: render_pair(chars=tmp_path / "nowhere.txt")),
        (ConfigError, "one of 32, 64, 128", lambda: render_pair(size=48)),
        (ConfigError, "leave none", lambda: render_pair(chars="abc")),
        (ConfigError, "largest font size that fits", lambda: render_glyphs(DEFAULT_SOURCE, "W", size=32, font_size=60)),
    ]


def test_bad_input_is_one_clear_line(tmp_path):
    for error, words, call in bad_input_cases(tmp_path):
        with pytest.raises(error, match=words) as caught:
            call()
        assert "\n" not in str(caught.value) and str(caught.value).startswith("fonts: ")

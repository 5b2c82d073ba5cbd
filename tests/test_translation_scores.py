"""Scores of image-to-image translation (issue 16): pixel scores, the glyph classifiers and their cache."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from ganzoo.errors import ConfigError
from ganzoo.plugin import DataInfo, EvalContext, Generator, MetricSpec, TensorData, UnpairedData
from ganzoo.registry import Registry
from ganzoo_translation import scores
from ganzoo_translation.fonts import GlyphPair, render_pair

CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
SIZE = 32


def as_uint8(glyphs: Tensor) -> Tensor:
    return ((glyphs + 1) * 127.5).round().to(torch.uint8)


@pytest.fixture(scope="module", autouse=True)
def module_cache(tmp_path_factory):
    """One classifier cache for the module: the first test that scores glyphs fits, the others load. The fits
    take 200 steps instead of 400: 36 characters need no more to tell right from wrong."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANZOO_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(scores, "MIN_STEPS", 200)
        yield


@pytest.fixture(scope="module")
def pair() -> GlyphPair:
    """The default fonts (DejaVu Sans -> DejaVu Serif Italic), 36 characters at 32 px, 12 held out."""
    return render_pair(chars=CHARS, size=SIZE, test_chars=12)


def info_of(pair: GlyphPair, paired: bool = True) -> DataInfo:
    """The test split's DataInfo, as fonts data declares it."""
    return DataInfo("translation", (1, SIZE, SIZE), extras={
        "condition_shape": [1, SIZE, SIZE], "paired": paired, "domains": ["DejaVuSans", "DejaVuSerif-Italic"],
        "source_font": str(pair.source.font), "target_font": str(pair.target.font), "font_size": pair.font_size,
        "chars": pair.chars, "test_chars": pair.test_chars, "image_size": SIZE})


class Lookup(Generator):
    """Translates each source glyph it knows into the image stored for it; the identity where given no outputs."""

    def __init__(self, sources: Tensor, outputs: Tensor | None = None) -> None:
        super().__init__(1, tuple(sources.shape[1:]), condition_shape=tuple(sources.shape[1:]))
        self.sources, self.outputs = sources.flatten(1), outputs

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        assert labels is not None
        if self.outputs is None:
            return labels
        match = (labels.flatten(1)[:, None] == self.sources[None]).all(-1).float().argmax(1)
        return self.outputs[match]


def context(pair: GlyphPair, generator: Generator, paired: bool = True) -> EvalContext:
    """An evaluation of ``generator`` on the pair's held-out glyphs (the test split put in the context's cache)."""
    info = info_of(pair, paired)
    sources, targets = as_uint8(pair.source.images[pair.test]), as_uint8(pair.target.images[pair.test])
    data = TensorData(targets, None, info, condition=sources) if paired else UnpairedData(sources, targets, info)
    ctx = EvalContext(generator, {"dataset": "fonts"}, info, None, [], registry=Registry())
    ctx.cache["real-data:test"] = data
    return ctx


def metric(name: str) -> MetricSpec:
    return next(spec for spec in scores.METRICS if spec.name == name)


def evaluate(name: str, pair: GlyphPair, outputs: Tensor | None, paired: bool = True):
    """One metric of a Lookup generator: the true targets, other glyphs, or (None) the identity."""
    ctx = context(pair, Lookup(pair.source.images[pair.test], outputs), paired)
    with torch.no_grad():  # as ganzoo's evaluation runs metrics
        return metric(name).compute(ctx)


def test_pixel_scores_of_perfect_translations_and_of_the_identity(pair):
    perfect = evaluate("pixels", pair, pair.target.images[pair.test])
    identity = evaluate("pixels", pair, None)
    assert perfect.scores["l1"] == 0 and math.isinf(perfect.scores["psnr"]) and perfect.scores["ssim"] == pytest.approx(1)
    assert identity.scores["l1"] > 0.05 and identity.scores["psnr"] < 20 and identity.scores["ssim"] < 0.95
    assert perfect.protocol["split"] == "test" and perfect.protocol["pairs"] == 12
    assert perfect.protocol["data_range"] == [-1.0, 1.0] and "11x11" in perfect.protocol["ssim_kernel"]
    assert set(perfect.scores) == set(metric("pixels").better)


def test_glyph_scores_tell_right_from_wrong_characters_and_styles(pair):
    targets = pair.target.images[pair.test]
    perfect = evaluate("glyphs", pair, targets)
    shuffled = evaluate("glyphs", pair, targets.roll(1, 0))  # each glyph replaced by another character's
    identity = evaluate("glyphs", pair, None)
    assert perfect.scores["char_acc"] >= 0.9 and shuffled.scores["char_acc"] <= 0.1
    assert identity.scores["char_acc"] >= 0.8  # the sources show the right characters too
    # a style learnt from 24 characters judges 12 unseen ones less surely than one learnt from hundreds
    assert perfect.scores["style_acc"] >= 0.75 and shuffled.scores["style_acc"] >= 0.75
    assert identity.scores["style_acc"] <= 0.25
    protocol = perfect.protocol
    assert protocol["char_classifier_accuracy_targets"] == perfect.scores["char_acc"]
    assert protocol["style_classifier_accuracy_targets"] == perfect.scores["style_acc"]
    assert protocol["style_classifier_accuracy_sources"] == 1 - identity.scores["style_acc"]
    assert protocol["char_classes"] == len(CHARS) and protocol["style_classifier_train_chars"] == len(CHARS) - 12
    assert len(protocol["char_classifier_fonts"]) == scores.AUX_COUNT
    assert not {"DejaVu Sans", "DejaVu Serif Italic"} & set(protocol["char_classifier_fonts"])


def test_classifiers_are_fitted_once_and_loaded_after(pair, monkeypatch):
    targets = pair.target.images[pair.test]
    first = evaluate("glyphs", pair, targets.flip(-1))

    def no_refit(*args, **kwargs):
        raise AssertionError("a cached classifier was fitted again")

    monkeypatch.setattr(scores, "fit_classifier", no_refit)
    again = evaluate("glyphs", pair, targets.flip(-1))
    assert again.scores == first.scores and again.protocol == first.protocol
    assert len(list(scores.cache_dir().glob("*.safetensors"))) == 2


def test_fitting_is_seeded(pair, monkeypatch):
    monkeypatch.setattr(scores, "MIN_STEPS", 20)
    facts = scores.FontPairFacts.of(info_of(pair), len(pair.test))
    idx = facts.labels(facts.train_chars)
    x = torch.cat([pair.source.images[idx], pair.target.images[idx]])
    y = torch.cat([torch.zeros(len(idx), dtype=torch.long), torch.ones(len(idx), dtype=torch.long)])
    first, second = (scores.fit_classifier(x, y, 2, "style", pooled=True) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True))


def test_score_translations_scores_the_identity_baseline_like_the_metrics(pair):
    sources, targets = pair.source.images[pair.test], pair.target.images[pair.test]
    baseline = scores.score_translations(sources, sources, targets, info_of(pair))
    assert baseline.scores == {**evaluate("pixels", pair, None).scores, **evaluate("glyphs", pair, None).scores}
    assert set(baseline.protocol) == {"pixels", "glyphs"}
    plain = DataInfo("translation", (1, SIZE, SIZE), extras={"paired": True})
    assert set(scores.score_translations(sources, sources, targets, plain).scores) == {"l1", "psnr", "ssim"}


@pytest.mark.parametrize("name", ["pixels", "glyphs"])
def test_unpaired_held_out_data_is_refused_in_one_line(pair, name):
    with pytest.raises(ConfigError, match="unpaired") as caught:
        evaluate(name, pair, None, paired=False)
    assert "\n" not in str(caught.value)


def test_glyph_scores_apply_to_fonts_data_only(pair):
    plain = DataInfo("translation", (1, SIZE, SIZE), extras={"paired": True})
    assert metric("glyphs").applies_to(info_of(pair)) and not metric("glyphs").applies_to(plain)
    assert metric("pixels").applies_to(plain)

"""Scores of image-to-image translation (issue 16): translations of the held-out sources against their true targets.

- ``pixels``: ``l1`` (mean absolute error per pixel value, images in [-1, 1]: 0 is perfect, 2 the largest),
  ``psnr`` (dB, of the mean squared error over every pixel of every pair, data range 2) and ``ssim`` (mean
  per-image SSIM, Gaussian 11x11 window, sigma 1.5, data range 2), with torchmetrics; translations are clamped to
  [-1, 1] first. Any paired translation data.
- ``glyphs`` (fonts data): ``char_acc``, the share of translated held-out glyphs that a character classifier fitted on
  OTHER fonts (never the source or the target) reads as their own character, and ``style_acc``, the share that a
  source-font-against-target-font classifier, fitted on the training characters only, judges to be in the target
  font. Each protocol records the classifier's accuracy on the true source and target glyphs of the held-out
  characters: where that is low, the score means little. Letters of other scripts drawn (almost) alike, Latin 'Ë'
  and Cyrillic 'Ё', 'ó' and Greek 'ό', keep it a little under 1 on the default characters (about 0.93 on the true
  target glyphs of the default pair at 64 px).

Both score the held-out split (``test``; ``--reference-split`` names another), which must be paired: fonts data in
unpaired mode still has a paired test split. The classifiers are small CNNs on glyphs downsampled to 32 px, fitted on
CPU from a fixed seed with small augmentations (so they judge a glyph's shape, not one font's pixels), and cached
under ganzoo's cache dir, keyed by the font files' bytes, the characters, the image and font size and
:data:`CLASSIFIER_VERSION`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganzoo.plugin import ConfigError, DataError, DataInfo, EvalContext, MetricResult, MetricSpec

PIXEL_BETTER = {"l1": "lower", "psnr": "higher", "ssim": "higher"}
GLYPH_BETTER = {"char_acc": "higher", "style_acc": "higher"}
GLYPH_EXTRAS = ("source_font", "target_font", "chars")
DATA_RANGE = (-1.0, 1.0)
SSIM_KERNEL = 11
SSIM_SIGMA = 1.5
SSIM_CHUNK = 256
"""Images per SSIM call: its Gaussian filtering holds about ten copies of the images."""

AUX_FONTS = (
    "DejaVu Sans Mono", "DejaVu Sans Bold", "DejaVu Serif", "DejaVu Serif Bold", "DejaVu Sans Oblique",
    "STIXGeneral", "STIXGeneral-Italic", "DejaVu Serif Bold Italic",
    # stand-ins for those that are the pair's own fonts
    "DejaVu Sans Bold Oblique", "DejaVu Sans Mono Oblique", "DejaVu Sans", "DejaVu Serif Italic", "STIXGeneral-Bold",
)
"""The character classifier's fonts, the first :data:`AUX_COUNT` that are neither the source nor the target: sans,
serif and mono, regular, bold, slanted and true italic (whose Cyrillic letters take other shapes: italic 'т' is
written like 'm'), two designs; STIX has Latin and Greek only, DejaVu Latin, Greek and Cyrillic."""
AUX_COUNT = 8
CLASSIFIER_VERSION = 1
"""Part of every cache key: bump it when the networks, their fitting or the augmentations change."""
CLASSIFIER_SEED = 0
CLASSIFIER_SIZE = 32
"""Classifiers see glyphs downsampled (area averaging) to this size: fitting stays fast at 64 and 128 px."""
EPOCHS = 20
MIN_STEPS = 400
"""Fitting takes at least this many steps, so a few dozen characters are learnt as well as hundreds."""
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
STROKE = 0.5
"""Strokes are blended up to this far towards one pixel thicker (a 3x3 max filter) or thinner (min filter)."""
SCALE = 0.1
ROTATION_DEGREES = 6.0
SHIFT = 0.05
"""Largest shift, as a share of the image side (3 px at 64 px)."""
AUGMENTATION = (f"strokes +-{STROKE} px, scale +-{SCALE:.0%}, rotation +-{ROTATION_DEGREES:g} deg, "
                f"shift +-{SHIFT:.0%} of the side, at {CLASSIFIER_SIZE} px")
CACHE_ENV = "GANZOO_CACHE"


def cache_dir() -> Path:
    """Where the fitted classifiers are kept: $GANZOO_CACHE/translation, else ~/.cache/ganzoo/translation (ganzoo's
    cache)."""
    env = os.environ.get(CACHE_ENV)
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo") / "translation"


def full_precision(compute: Callable[[EvalContext], MetricResult]) -> Callable[[EvalContext], MetricResult]:
    """Run a metric in fp32 even inside a bf16 training run's autocast (scores must not depend on it)."""

    @functools.wraps(compute)
    def wrapped(ctx: EvalContext) -> MetricResult:
        with torch.autocast(ctx.device.type, enabled=False):
            return compute(ctx)

    return wrapped


# ---------------------------------------------------------------------------------------------- pixels


def pixel_scores(translated: Tensor, targets: Tensor) -> dict[str, float]:
    """L1, PSNR (of the pooled MSE) and mean per-image SSIM of translations against their targets, all in [-1, 1]."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    if translated.shape != targets.shape or not len(targets):
        raise DataError(f"translations {tuple(translated.shape)} and targets {tuple(targets.shape)} must be "
                        "non-empty and of one shape")
    translated, targets = translated.float().clamp(*DATA_RANGE), targets.float().clamp(*DATA_RANGE)
    ssim = torch.cat([
        structural_similarity_index_measure(out, true, data_range=DATA_RANGE, kernel_size=SSIM_KERNEL, sigma=SSIM_SIGMA,
                                            gaussian_kernel=True, reduction="none")
        for out, true in zip(translated.split(SSIM_CHUNK), targets.split(SSIM_CHUNK), strict=True)
    ])
    return {"l1": float((translated - targets).abs().mean()),
            "psnr": float(peak_signal_noise_ratio(translated, targets, data_range=DATA_RANGE)),
            "ssim": float(ssim.mean())}


def pixel_result(translated: Tensor, targets: Tensor, split: str = "test") -> MetricResult:
    """:func:`pixel_scores` with their protocol."""
    protocol = {"split": split, "pairs": len(targets), "data_range": list(DATA_RANGE),
                "l1": "mean |translation - target| per pixel value, images in [-1, 1]",
                "psnr": "dB, of the mean squared error over all pixels of all pairs",
                "ssim_kernel": f"gaussian {SSIM_KERNEL}x{SSIM_KERNEL}, sigma {SSIM_SIGMA}",
                "ssim": "mean over pairs", "outputs": "clamped to [-1, 1]"}
    return MetricResult(pixel_scores(translated, targets), protocol)


# ---------------------------------------------------------------------------------------------- classifiers


class GlyphClassifier(nn.Module):
    """A small CNN: glyphs (N, 1, S, S) in [-1, 1], downsampled to 32 px inside, -> logits (N, classes).

    ``pooled``: the head sees the features averaged over the image, not laid out: what tells a style (serifs, slant,
    stroke contrast) is everywhere in a glyph, and a style classifier that cannot see the layout cannot learn the
    training characters' shapes in place of their style (it judges unseen characters far better)."""

    def __init__(self, num_classes: int, pooled: bool = False, width: int = 16) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(1, width), *block(width, 2 * width), *block(2 * width, 4 * width))
        cells = 1 if pooled else (CLASSIFIER_SIZE // 8) ** 2
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1) if pooled else nn.Identity(), nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(4 * width * cells, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(F.adaptive_avg_pool2d(x, CLASSIFIER_SIZE)))


def augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Small random changes a glyph's character and style survive: stroke weight, scale, rotation and position."""
    n = len(x)

    def uniform() -> Tensor:  # in [-1, 1], one per glyph
        return torch.rand(n, generator=gen) * 2 - 1

    stroke = (uniform() * STROKE).view(n, 1, 1, 1)
    thicker, thinner = F.max_pool2d(x, 3, 1, 1), -F.max_pool2d(-x, 3, 1, 1)
    x = x + stroke.clamp(min=0) * (thicker - x) + (-stroke).clamp(min=0) * (thinner - x)
    angle, scale = uniform() * math.radians(ROTATION_DEGREES), 1 + uniform() * SCALE
    shift_x, shift_y = uniform() * 2 * SHIFT, uniform() * 2 * SHIFT  # grid coordinates span 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1  # background -1


def fit_classifier(x: Tensor, y: Tensor, num_classes: int, desc: str, progress: bool = False,
                   pooled: bool = False) -> GlyphClassifier:
    """A :class:`GlyphClassifier` fitted on glyphs ``x`` (N, 1, S, S) with labels ``y`` on CPU, the same for a seed."""
    x = F.adaptive_avg_pool2d(x.float(), CLASSIFIER_SIZE)  # augment at the size the network sees
    steps_per_epoch = math.ceil(len(x) / BATCH_SIZE)
    steps = max(MIN_STEPS, EPOCHS * steps_per_epoch)
    with torch.random.fork_rng(devices=[]), torch.enable_grad():  # metrics run under no_grad
        torch.manual_seed(CLASSIFIER_SEED)
        gen = torch.Generator().manual_seed(CLASSIFIER_SEED)
        model = GlyphClassifier(num_classes, pooled)
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=steps)
        model.train()
        for step in tqdm(range(steps), desc=desc, unit="step", disable=not progress):
            if step % steps_per_epoch == 0:
                order = torch.randperm(len(x), generator=gen)
            idx = order[(step % steps_per_epoch) * BATCH_SIZE :][:BATCH_SIZE]
            loss = F.cross_entropy(model(augment(x[idx], gen)), y[idx], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def predict(model: GlyphClassifier, x: Tensor) -> Tensor:
    """The class of each glyph."""
    with torch.no_grad():
        return torch.cat([model(part.float().cpu()).argmax(1) for part in x.split(512)])


@functools.lru_cache(maxsize=64)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def font_sha256(path: Path) -> str:
    """SHA-256 of a font file (hashed once per file version)."""
    stat = path.stat()
    return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


def _cached_classifier(kind: str, identity: dict[str, Any], num_classes: int, pooled: bool,
                       fit: Callable[[], tuple[GlyphClassifier, dict[str, Any]]]) -> tuple[GlyphClassifier, dict[str, Any]]:
    """The classifier fitted for ``identity``: loaded from the cache, or fitted by ``fit`` and cached atomically (one
    safetensors file: the weights, and the metadata as JSON in its header)."""
    key = hashlib.sha256(json.dumps({"kind": kind, "version": CLASSIFIER_VERSION, "seed": CLASSIFIER_SEED, **identity},
                                    sort_keys=True).encode()).hexdigest()
    path = cache_dir() / f"{kind}-{key[:24]}.safetensors"
    model = GlyphClassifier(num_classes, pooled)
    try:
        with safe_open(path, framework="pt") as stored:
            meta = json.loads(stored.metadata()["classifier"])
            if meta["key"] == key:
                model.load_state_dict({name: stored.get_tensor(name) for name in stored.keys()})
                return model.eval(), meta
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError):
        pass  # absent, torn by another version or unreadable: fit again
    model, meta = fit()
    meta = {**meta, "key": key, "kind": kind, "version": CLASSIFIER_VERSION, "seed": CLASSIFIER_SEED}
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(safetensors_bytes(state, metadata={"classifier": json.dumps(meta)}))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return model, meta


# ---------------------------------------------------------------------------------------------- glyphs


@dataclass(frozen=True)
class FontPairFacts:
    """What the glyph scores need to know of fonts data: the pair's fonts and characters, and those scored."""

    source: Path
    target: Path
    chars: str
    scored: str
    """The character of each scored pair, in order."""
    image_size: int
    font_size: int

    @classmethod
    def of(cls, info: DataInfo, pairs: int) -> FontPairFacts:
        """From the extras of the scored split's DataInfo; its characters are its ``test_chars`` (or, for one
        split's info, ``split_chars``)."""
        extras = info.extras
        missing = [key for key in (*GLYPH_EXTRAS, "font_size") if key not in extras]
        scored = extras.get("test_chars", extras.get("split_chars"))
        if missing or scored is None:
            raise DataError(f"glyph scores need fonts data; this data has no {', '.join(missing) or 'test_chars'}")
        if len(scored) != pairs:
            raise DataError(f"the data names {len(scored)} held-out characters but has {pairs} pairs")
        return cls(Path(extras["source_font"]), Path(extras["target_font"]), str(extras["chars"]), str(scored),
                   int(extras.get("image_size", info.shape[-1])), int(extras["font_size"]))

    @property
    def train_chars(self) -> str:
        held_out = set(self.scored)
        return "".join(c for c in self.chars if c not in held_out)

    def labels(self, chars: str) -> Tensor:
        """The class (index into ``chars``) of each of ``chars``."""
        index = {c: i for i, c in enumerate(self.chars)}
        return torch.tensor([index[c] for c in chars])


def aux_fonts(source: Path, target: Path) -> list[tuple[str, Path]]:
    """The character classifier's fonts, by name and file: the first :data:`AUX_COUNT` of :data:`AUX_FONTS` that are
    neither the source nor the target font."""
    from ganzoo_translation.fonts import resolve_font  # matplotlib: only when scoring

    taken, chosen = {source.resolve(), target.resolve()}, []
    for name in AUX_FONTS:
        path = resolve_font(name)
        if path not in taken and len(chosen) < AUX_COUNT:
            taken.add(path)
            chosen.append((name, path))
    return chosen


def _aux_glyphs(name: str, facts: FontPairFacts) -> tuple[Tensor, Tensor, int] | None:
    """An auxiliary font's glyphs of the pair's characters it covers, their classes and the font size they are drawn
    at: the pair's, or the largest that fits where that would overflow the image. None: it covers none."""
    from ganzoo_translation.fonts import render_glyphs

    try:
        glyphs = render_glyphs(name, facts.chars, facts.image_size, facts.font_size)
    except ConfigError:  # too big at the pair's font size
        glyphs = render_glyphs(name, facts.chars, facts.image_size)
    except DataError:  # covers none of the characters
        return None
    return glyphs.images, facts.labels(glyphs.chars), glyphs.font_size


def char_classifier(facts: FontPairFacts, progress: bool = False) -> tuple[GlyphClassifier, dict[str, Any]]:
    """The classifier of every character of the pair, fitted on other fonts' glyphs of them (cached)."""
    fonts = aux_fonts(facts.source, facts.target)
    identity = {"fonts": [font_sha256(path) for _, path in fonts], "chars": facts.chars,
                "image_size": facts.image_size, "font_size": facts.font_size}

    def fit() -> tuple[GlyphClassifier, dict[str, Any]]:
        rendered = {name: glyphs for name, _ in fonts if (glyphs := _aux_glyphs(name, facts)) is not None}
        if not rendered:
            raise DataError(f"none of the character classifier's fonts ({', '.join(n for n, _ in fonts)}) covers "
                            "any of the pair's characters")
        x = torch.cat([images for images, _, _ in rendered.values()])
        y = torch.cat([labels for _, labels, _ in rendered.values()])
        model = fit_classifier(x, y, len(facts.chars), "character classifier", progress)
        return model, {"fonts": list(rendered), "font_sizes": {n: size for n, (_, _, size) in rendered.items()},
                       "train_glyphs": len(x), "classes_unseen": len(facts.chars) - len(set(y.tolist()))}

    return _cached_classifier("chars", identity, len(facts.chars), False, fit)


def style_classifier(facts: FontPairFacts, progress: bool = False) -> tuple[GlyphClassifier, dict[str, Any]]:
    """The source-font (class 0) against target-font (class 1) classifier, fitted on the training characters (cached)."""
    train = facts.train_chars
    identity = {"fonts": [font_sha256(facts.source), font_sha256(facts.target)], "chars": facts.chars, "train": train,
                "image_size": facts.image_size, "font_size": facts.font_size}

    def fit() -> tuple[GlyphClassifier, dict[str, Any]]:
        from ganzoo_translation.fonts import render_pair

        pair = render_pair(facts.source, facts.target, facts.chars, facts.image_size, test_chars=len(facts.scored))
        if pair.chars != facts.chars or pair.font_size != facts.font_size:
            raise DataError("the fonts no longer render as this data's glyphs (have the font files changed?)")
        idx = facts.labels(train)
        x = torch.cat([pair.source.images[idx], pair.target.images[idx]])
        y = torch.cat([torch.zeros(len(idx), dtype=torch.long), torch.ones(len(idx), dtype=torch.long)])
        model = fit_classifier(x, y, 2, "style classifier", progress, pooled=True)
        return model, {"train_chars": len(train)}

    return _cached_classifier("style", identity, 2, True, fit)


def glyph_result(translated: Tensor, sources: Tensor, targets: Tensor, info: DataInfo, split: str = "test",
                 progress: bool = False) -> MetricResult:
    """``char_acc`` and ``style_acc`` of translations of fonts data's held-out glyphs (``info``: the scored split's),
    with the classifiers' accuracy on the true source and target glyphs in the protocol."""
    facts = FontPairFacts.of(info, len(targets))
    translated = translated.float().clamp(*DATA_RANGE)
    chars, char_meta = char_classifier(facts, progress)
    labels = facts.labels(facts.scored)
    styles, style_meta = style_classifier(facts, progress)

    def share(model: GlyphClassifier, images: Tensor, want: Tensor | int) -> float:
        return round(float((predict(model, images) == want).float().mean()), 5)

    scores = {"char_acc": share(chars, translated, labels), "style_acc": share(styles, translated, 1)}
    protocol = {
        "split": split, "pairs": len(targets),
        "char_classifier_fonts": char_meta["fonts"], "char_classifier_font_sizes": char_meta["font_sizes"],
        "char_classes": len(facts.chars), "char_classes_unseen": char_meta["classes_unseen"],
        "char_classifier_accuracy_targets": share(chars, targets, labels),
        "char_classifier_accuracy_sources": share(chars, sources, labels),
        "style_classifier_train_chars": style_meta["train_chars"],
        "style_classifier_accuracy_targets": share(styles, targets, 1),
        "style_classifier_accuracy_sources": share(styles, sources, 0),
        "classifier_input_px": CLASSIFIER_SIZE, "augmentation": AUGMENTATION,
        "classifier_version": CLASSIFIER_VERSION, "classifier_seed": CLASSIFIER_SEED,
    }
    return MetricResult(scores, protocol)


def score_translations(translated: Tensor, sources: Tensor, targets: Tensor, info: DataInfo, split: str = "test",
                       progress: bool = False) -> MetricResult:
    """Every translation score of ready-made translations (e.g. the identity baseline, ``translated = sources``):
    the pixel scores, and the glyph scores for fonts data; ``protocol`` is by metric name, like an evaluation's."""
    results = {"pixels": pixel_result(translated, targets, split)}
    if all(key in info.extras for key in GLYPH_EXTRAS):
        results["glyphs"] = glyph_result(translated, sources, targets, info, split, progress)
    return MetricResult({k: v for r in results.values() for k, v in r.scores.items()},
                        {name: dict(r.protocol) for name, r in results.items()}, {**PIXEL_BETTER, **GLYPH_BETTER})


# ---------------------------------------------------------------------------------------------- metrics


def held_out_split(ctx: EvalContext) -> str:
    """The split scored: ``--reference-split`` when given, else 'test' (never the training split by default)."""
    return ctx.options.get("reference_split") or "test"


def translations(ctx: EvalContext) -> tuple[Tensor, Tensor, Tensor, DataInfo]:
    """(translations, sources, targets, the split's DataInfo) of the held-out pairs, on CPU, translated once per
    evaluation with noise from its seed; refused unless the split is paired."""
    split = held_out_split(ctx)
    key = f"translations:{split}"
    if key not in ctx.cache:
        data = ctx.real_data(split)
        if not data.info.extras.get("paired", False):
            raise ConfigError(f"translation scores compare translations with their true targets, but the {split} "
                              "split is unpaired (no true target for each source)")
        noise = torch.Generator().manual_seed(int(ctx.seed))
        outs, sources, targets = [], [], []
        for batch in data.iterate(ctx.batch_size, device=ctx.device):
            if batch.condition is None:
                raise DataError(f"the {split} split's batches carry no source images")
            outs.append(ctx.generator.sample(len(batch.x), labels=batch.condition, generator=noise).float().cpu())
            sources.append(batch.condition.float().cpu())
            targets.append(batch.x.float().cpu())
        ctx.cache[key] = torch.cat(outs), torch.cat(sources), torch.cat(targets), data.info
    return ctx.cache[key]


@full_precision
def pixels(ctx: EvalContext) -> MetricResult:
    translated, _, targets, _ = translations(ctx)
    result = pixel_result(translated, targets, held_out_split(ctx))
    return MetricResult(result.scores, {**result.protocol, "seed": ctx.seed})


@full_precision
def glyphs(ctx: EvalContext) -> MetricResult:
    translated, sources, targets, info = translations(ctx)
    result = glyph_result(translated, sources, targets, info, held_out_split(ctx), bool(ctx.options.get("progress")))
    return MetricResult(result.scores, {**result.protocol, "seed": ctx.seed})


METRICS: list[MetricSpec] = [
    MetricSpec("pixels", "L1, PSNR and SSIM of translations of the held-out sources against their true targets",
               ("translation",), pixels, PIXEL_BETTER),
    MetricSpec("glyphs", "character and style accuracy of translated held-out glyphs, judged by classifiers fitted "
               "on other fonts (characters) and on the training characters (style)", ("translation",), glyphs,
               GLYPH_BETTER, needs=GLYPH_EXTRAS),
]

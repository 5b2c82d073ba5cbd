"""Class-aware scores of class-conditional image generators.

``class_acc``: ask the generator for each class in turn and let the dataset's domain classifier
(``ganzoo-<dataset>``) judge whether the samples show that class; per class and mean.
``intra_fid``: FID of each class's samples against that class's real images, averaged over
classes (Miyato & Koyama 2018 report it for ImageNet); it sees a model that draws good images of
the wrong class, which plain FID does not.

Both use the same balanced set of samples: ``num_samples // num_classes`` per class, drawn from
the same latents for every class. Features go through torch-fidelity like the other image
scores, so a run's FID and intra-FID share one extractor and one reference cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec
from ganzoo.metrics.fidelity import (
    data_identity,
    extractor_for,
    features_of_generator,
    metric_layer,
    reference_features,
    reference_split,
    score_features,
)

if TYPE_CHECKING:  # at run time the functions that score import the extractors (and torch-fidelity with them)
    from ganzoo.metrics.extractors import ResolvedExtractor

MIN_PER_CLASS = 2
"""FID needs a covariance: at least two images of each class, generated and real."""


def samples_per_class(ctx: EvalContext) -> int:
    """Generated samples of each class: the evaluation's sample budget split evenly."""
    per_class = ctx.num_samples // ctx.generator.num_classes
    if per_class < MIN_PER_CLASS:
        raise ConfigError(f"class-aware scores need at least {MIN_PER_CLASS} samples per class: "
                          f"use at least {MIN_PER_CLASS * ctx.generator.num_classes} samples")
    return per_class


def per_class_features(ctx: EvalContext, extractor: ResolvedExtractor) -> list[dict[str, Tensor]]:
    """Features of generated samples of each class (computed once per evaluation and extractor)."""
    from ganzoo.metrics.extractors import DOMAIN_PREFIX, FEATURES

    key = f"per-class-features:{extractor.name}"
    if key not in ctx.cache:
        domain = extractor.name.startswith(DOMAIN_PREFIX)
        layers = list(FEATURES) if domain else [metric_layer(extractor, "fid")]
        cuda = ctx.device.type == "cuda"
        model = extractor.create(layers, cuda)
        n = samples_per_class(ctx)
        progress = ctx.options.get("progress", False)
        ctx.cache[key] = [features_of_generator(ctx.generator, model, n, ctx.batch_size, ctx.seed, cuda, progress, label=c)
                          for c in range(ctx.generator.num_classes)]
    return ctx.cache[key]


def classifier_for(ctx: EvalContext) -> ResolvedExtractor:
    """The judge: the chosen extractor when it is a domain classifier, else the data's own; never one fitted on other data."""
    from ganzoo.metrics.extractors import (
        DOMAIN_PREFIX,
        check_fitted_on,
        domain_weights,
        extractor_name,
        fit_command,
        resolve_extractor,
    )

    name = str(ctx.options.get("feature_extractor") or "auto")
    dataset, identity = str(ctx.config["dataset"]), data_identity(ctx)
    if not name.startswith(DOMAIN_PREFIX):
        name = extractor_name(dataset, identity)
    weights = domain_weights(name, fit_command(dataset, identity))  # a clear error naming `ganzoo fit-extractor`
    check_fitted_on(weights, dataset, identity)
    if weights.num_classes != ctx.generator.num_classes:
        raise ConfigError(f"classifier {name!r} knows {weights.num_classes} classes, but this model makes "
                          f"{ctx.generator.num_classes}; fit one on this run's dataset with `ganzoo fit-extractor`")
    return resolve_extractor(name)


def class_accuracy(ctx: EvalContext) -> MetricResult:
    """Share of each class's samples the domain classifier assigns to the class asked for."""
    from ganzoo.metrics.extractors import domain_weights

    judge = classifier_for(ctx)
    per_class = per_class_features(ctx, judge)
    scores: dict[str, float] = {}
    for label, features in enumerate(per_class):
        predicted = features["logits_unbiased"].argmax(dim=1)
        scores[f"class_acc_{label}"] = float((predicted == label).float().mean())
    scores = {"class_acc": sum(scores.values()) / len(scores), **scores}
    meta = domain_weights(judge.name).meta
    protocol = {
        **judge.protocol(),
        "num_generated": len(per_class) * len(per_class[0]["logits_unbiased"]),
        "per_class": len(per_class[0]["logits_unbiased"]),
        "classifier_heldout_accuracy": meta.get("accuracy"),
        "classifier_heldout_size": meta.get("heldout_size"),
        "seed": ctx.seed,
    }
    return MetricResult(scores, protocol, {k: "higher" for k in scores})


def intra_class_fid(ctx: EvalContext) -> MetricResult:
    """FID of each class's samples against the real images of that class, and their mean."""
    extractor = extractor_for(ctx)
    per_class = per_class_features(ctx, extractor)
    layer = metric_layer(extractor, "fid")
    model = extractor.create([layer], ctx.device.type == "cuda")
    reference = reference_features(ctx, extractor, model)
    if reference.labels is None:
        raise ConfigError(f"intra-class FID needs labelled reference images; {ctx.config['dataset']} has none")
    extractor_cls = type(model)
    scores: dict[str, float] = {}
    real_counts: list[int] = []
    for label, fake in enumerate(per_class):
        mask = reference.labels == label
        real_counts.append(int(mask.sum()))
        if real_counts[-1] < MIN_PER_CLASS:
            raise ConfigError(f"intra-class FID needs at least {MIN_PER_CLASS} real images of each class; "
                              f"class {label} has {real_counts[-1]} in {ctx.config['dataset']}:{reference_split(ctx)}")
        real = {layer: reference.features[layer][mask]}
        scores[f"intra_fid_{label}"] = score_features({layer: fake[layer]}, real, ["fid"], extractor_cls)["fid"]
    scores = {"intra_fid": sum(scores.values()) / len(scores), **scores}
    protocol: dict[str, Any] = {
        **extractor.protocol(),
        "num_generated": len(per_class) * len(per_class[0][layer]),
        "per_class": len(per_class[0][layer]),
        "num_real": reference.count,
        "real_per_class": [min(real_counts), max(real_counts)],
        "reference": f"{ctx.config['dataset']}:{reference_split(ctx)}",
        "seed": ctx.seed,
    }
    return MetricResult(scores, protocol, {k: "lower" for k in scores})


CLASSWISE_SPECS = [
    MetricSpec("class_acc", "Class accuracy of samples asked for each class, judged by the domain classifier "
               "(mean and per class)", ("image",), class_accuracy, {"class_acc": "higher"}, conditional_only=True),
    MetricSpec("intra_fid", "Intra-class FID: FID of each class's samples against that class's real images, averaged",
               ("image",), intra_class_fid, {"intra_fid": "lower"}, conditional_only=True),
]

"""Latent vector arithmetic (Radford et al. 2015, section 6.3.2).

Draw a pool of latents, let each concept of an expression pick its k exemplars from the pool
(:mod:`ganzoo.analysis.concepts`), average each concept's latents (single latents are noisy,
the paper used 3), and combine the means: z = mean(A) - mean(B) + mean(C). The result's
sample and variants with uniform noise in [-0.25, 0.25] added (as in the paper) are judged by
the same classifier and pixel statistics that chose the exemplars, so the effect is measured,
not only shown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.analysis.concepts import PROPERTIES, Concept, parse_expression, select
from ganzoo.analysis.domain import AUTO, DomainModel, domain_model
from ganzoo.analysis.figures import Row, cell_figure
from ganzoo.analysis.latent import check_images
from ganzoo.errors import ConfigError
from ganzoo.sampling import LoadedRun, check_labels

DEFAULT_EXPRESSION = "class=0,ink=high - class=0,ink=low + class=1,ink=low"
NOISE = 0.25


@dataclass
class Judged:
    """Images with what the classifier and the pixel statistics say about them."""

    images: Tensor
    values: dict[str, Tensor]
    probabilities: Tensor | None

    def describe(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {name: round(float(v[i]), 4) for name, v in self.values.items()}
        if self.probabilities is not None:
            out["class"] = int(self.probabilities[i].argmax())
            out["class_probability"] = round(float(self.probabilities[i].max()), 4)
        return out


@dataclass
class Term:
    """One concept of the expression: its sign, chosen latents and what they produce."""

    sign: int
    concept: Concept
    latents: Tensor
    exemplars: Judged
    mean_sample: Judged
    """The sample of the concept's mean latent."""


@dataclass
class ArithmeticResult:
    """Every term of an evaluated expression and the judged result samples."""

    expression: str
    terms: list[Term]
    result: Judged
    """The result latent's sample first, then its noisy variants."""
    pool: int
    k: int
    extractor: str | None
    label: int | None
    path: Path | None = None
    """The figure, once saved."""

    def summary(self) -> dict[str, Any]:
        """Mean property values and the class vote of the result samples."""
        out: dict[str, Any] = {name: round(float(v.mean()), 4) for name, v in self.result.values.items()}
        if self.result.probabilities is not None:
            votes = Counter(self.result.probabilities.argmax(dim=1).tolist())
            out["class_votes"] = {str(c): n for c, n in sorted(votes.items())}
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "pool": self.pool,
            "k": self.k,
            "feature_extractor": self.extractor,
            "label": self.label,
            "terms": [
                {
                    "sign": "+" if t.sign > 0 else "-",
                    "concept": t.concept.text,
                    "exemplars": [t.exemplars.describe(i) for i in range(len(t.exemplars.images))],
                    "mean_latent_sample": t.mean_sample.describe(0),
                }
                for t in self.terms
            ],
            "result": [self.result.describe(i) for i in range(len(self.result.images))],
            "result_summary": self.summary(),
            "figure": str(self.path) if self.path else None,
        }


class _Judge:
    """Generates images from latents and measures them."""

    def __init__(self, loaded: LoadedRun, model: DomainModel | None, label: int | None, batch_size: int) -> None:
        self.G = loaded.generator
        self.model = model
        self.label = label
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, latents: Tensor) -> Judged:
        chunks = []
        for begin in range(0, len(latents), self.batch_size):
            z = latents[begin : begin + self.batch_size].to(self.G.device)
            labels = None if self.label is None else torch.full((len(z),), self.label, dtype=torch.long, device=z.device)
            chunks.append(self.G(z, labels).float().cpu())
        images = torch.cat(chunks)
        values = {name: measure(images) for name, measure in PROPERTIES.items()}
        probabilities = self.model(images, self.batch_size)[1] if self.model is not None else None
        return Judged(images, values, probabilities)


def latent_arithmetic(
    loaded: LoadedRun,
    expression: str = DEFAULT_EXPRESSION,
    *,
    k: int = 3,
    pool: int = 2000,
    variants: int = 8,
    seed: int = 0,
    label: int | None = None,
    feature_extractor: str = AUTO,
    batch_size: int = 500,
) -> ArithmeticResult:
    """Evaluate ``expression`` over a pool of ``pool`` latents, averaging ``k`` latents per concept."""
    check_images(loaded, "latent arithmetic")
    if k < 1 or variants < 1 or pool < k:
        raise ConfigError(f"need k >= 1, variants >= 1 and a pool of at least k latents; got k={k}, "
                          f"variants={variants}, pool={pool}")
    G = loaded.generator
    if G.num_classes > 0 and label is None:
        raise ConfigError("this model is conditional: pass --label to fix the class all latents are drawn with")
    if label is not None:
        check_labels(G, torch.tensor([label]))
    terms = parse_expression(expression)
    model = domain_model(feature_extractor, str(loaded.config["dataset"]), loaded.data_info)
    judge = _Judge(loaded, model, label, batch_size)
    noise = torch.Generator().manual_seed(seed)
    latents = G.sample_latent(pool, noise).cpu()
    judged = judge(latents)
    result_latent = torch.zeros(G.latent_dim)
    built = []
    for sign, concept in terms:
        chosen = select(concept, judged.values, judged.probabilities, k)
        mean = latents[chosen].mean(dim=0)
        result_latent += sign * mean
        exemplars = Judged(judged.images[chosen], {n: v[chosen] for n, v in judged.values.items()},
                           judged.probabilities[chosen] if judged.probabilities is not None else None)
        built.append(Term(sign, concept, latents[chosen], exemplars, judge(mean[None])))
    jitter = (torch.rand(variants - 1, G.latent_dim, generator=noise) * 2 - 1) * NOISE
    result = judge(torch.cat([result_latent[None], result_latent[None] + jitter]))
    return ArithmeticResult(expression, built, result, pool, k, model.name if model else None, label)


def _caption(judged: Judged, i: int, prop: str | None, prefix: str = "") -> str:
    """'class 1' over 'slant 0.15': what the classifier and the ranked property say about image i."""
    lines = []
    if judged.probabilities is not None:
        lines.append(f"class {int(judged.probabilities[i].argmax())}")
    if prop is not None:
        lines.append(f"{prop} {float(judged.values[prop][i]):.2f}")
    if prefix:
        lines[0:1] = [f"{prefix} {lines[0]}" if lines else prefix]
    return "\n".join(lines)


def save_arithmetic(result: ArithmeticResult, path: Path, title: str) -> Path:
    """One row per concept (its k exemplars, then the sample of their mean latent), then the result."""
    props = [t.concept.prop for t in result.terms if t.concept.prop]
    shown_prop = props[0] if props else None
    rows = []
    for term in result.terms:
        sign = "+" if term.sign > 0 else "−"
        images: list[Tensor | None] = [*term.exemplars.images, None, term.mean_sample.images[0]]
        captions = [_caption(term.exemplars, i, term.concept.prop) for i in range(len(term.exemplars.images))]
        captions += ["", _caption(term.mean_sample, 0, term.concept.prop or shown_prop, prefix="mean z:")]
        rows.append(Row(f"{sign} {term.concept.text}", images, captions))
    captions = [_caption(result.result, i, shown_prop) for i in range(len(result.result.images))]
    rows.append(Row("= result\n(z, then z + noise)", list(result.result.images), captions))
    summary = result.summary()
    lines = [f"each concept: the {result.k} best-fitting of {result.pool} random latents; the sum uses their mean z"]
    judged = []
    if "class_votes" in summary:
        judged.append(f"classes by {result.extractor}: " + ", ".join(f"{c} ({n}x)" for c, n in summary["class_votes"].items()))
    if shown_prop:
        judged.append(f"mean {shown_prop} {summary[shown_prop]:.2f}")
    if judged:
        lines.append(f"result samples: {'; '.join(judged)}")
    footer = "\n".join(lines)
    return cell_figure(rows, path, title=title, footer=footer, cell_inches=0.75)

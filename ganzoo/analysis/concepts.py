"""Naming concepts for latent arithmetic: filters over generated samples.

A concept is a comma-separated list of selectors, each judged on the image a latent produces:

    class=N             the domain classifier (`ganzoo-<dataset>`) puts the sample in class N
                        with probability 0.9 or more
    ink=high|low        mean brightness: the amount of stroke on dark-background digits
    width=high|low      horizontal spread of the bright pixels (standard deviation, in pixels)
    slant=right|left|upright
                        how far the top leans right of the bottom (a shear: horizontal
                        pixels per vertical pixel, from second moments); upright = nearest 0

``class=3,ink=high`` keeps the pool's samples the classifier calls 3 and takes the k with the
most ink; ``class=3`` alone takes the k the classifier is surest of. Expressions join concepts
with `` + `` and `` - `` (spaces around the sign): ``class=0,ink=high - class=0,ink=low + class=1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ganzoo.errors import ConfigError


def _intensity(images: Tensor) -> Tensor:
    """(N, C, H, W) in [-1, 1] -> (N, H, W) brightness in [0, 1]."""
    return images.float().add(1).div(2).clamp(0, 1).mean(dim=1)


def _moments(images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Brightness-weighted variance of x, of y, and their covariance (y grows downwards)."""
    weights = _intensity(images)
    total = weights.sum(dim=(1, 2)).clamp_min(1e-6)
    height, width = weights.shape[1:]
    ys = torch.arange(height, dtype=torch.float32)[None, :, None]
    xs = torch.arange(width, dtype=torch.float32)[None, None, :]
    cy = (weights * ys).sum(dim=(1, 2)) / total
    cx = (weights * xs).sum(dim=(1, 2)) / total
    dy, dx = ys - cy[:, None, None], xs - cx[:, None, None]
    var_x = (weights * dx * dx).sum(dim=(1, 2)) / total
    var_y = (weights * dy * dy).sum(dim=(1, 2)) / total
    cov = (weights * dx * dy).sum(dim=(1, 2)) / total
    return var_x, var_y, cov


def ink(images: Tensor) -> Tensor:
    """Mean brightness of each image, in [0, 1]."""
    return _intensity(images).mean(dim=(1, 2))


def width(images: Tensor) -> Tensor:
    """Horizontal spread of the bright pixels (their standard deviation in x, in pixels)."""
    return _moments(images)[0].sqrt()


def slant(images: Tensor) -> Tensor:
    """Horizontal shift per pixel of height, positive when the top leans right ('/')."""
    _, var_y, cov = _moments(images)
    return -cov / var_y.clamp_min(1e-6)


PROPERTIES: dict[str, Callable[[Tensor], Tensor]] = {"ink": ink, "width": width, "slant": slant}
DIRECTIONS: dict[str, dict[str, str]] = {
    "ink": {"high": "high", "low": "low"},
    "width": {"high": "high", "low": "low"},
    "slant": {"right": "high", "left": "low", "upright": "zero"},
}


MIN_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Concept:
    """One term of an expression: an optional class and an optional property ranking."""

    text: str
    label: int | None = None
    prop: str | None = None
    direction: str | None = None
    """'high', 'low' or 'zero' (nearest 0)."""

    @property
    def needs_classifier(self) -> bool:
        return self.label is not None


def parse_concept(text: str) -> Concept:
    """'class=3,ink=high' -> Concept; a clear error for anything else."""
    label, prop, direction = None, None, None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"empty concept in {text!r}")
    for part in parts:
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise ConfigError(f"concept selector {part!r} must be key=value (class=N, ink=high, slant=right, ...)")
        if key == "class":
            if not value.isdigit():
                raise ConfigError(f"class must be a class number, got {value!r}")
            label = int(value)
        elif key in DIRECTIONS:
            if prop is not None:
                raise ConfigError(f"concept {text!r} ranks by two properties; use one of {', '.join(PROPERTIES)}")
            if value not in DIRECTIONS[key]:
                raise ConfigError(f"{key} must be {' or '.join(DIRECTIONS[key])}, got {value!r}")
            prop, direction = key, DIRECTIONS[key][value]
        else:
            raise ConfigError(f"unknown concept selector {key!r} (known: class, {', '.join(PROPERTIES)})")
    return Concept(",".join(parts), label, prop, direction)


def parse_expression(text: str) -> list[tuple[int, Concept]]:
    """'A - B + C' -> [(+1, A), (-1, B), (+1, C)]; signs need spaces around them."""
    pieces = re.split(r"\s+([+-])\s+", text.strip())
    if not pieces or not pieces[0]:
        raise ConfigError("empty arithmetic expression")
    terms = [(1, parse_concept(pieces[0]))]
    for sign, concept in zip(pieces[1::2], pieces[2::2], strict=True):
        terms.append((1 if sign == "+" else -1, parse_concept(concept)))
    return terms


def select(concept: Concept, values: dict[str, Tensor], probabilities: Tensor | None, k: int,
           min_confidence: float = MIN_CONFIDENCE) -> Tensor:
    """Indices of the k pool samples that best fit a concept (most extreme property first).

    ``class=N`` keeps the samples the classifier gives class N a probability of at least
    ``min_confidence``, so a property ranking cannot pick borderline shapes.
    """
    pool = len(next(iter(values.values())))
    candidates = torch.arange(pool)
    if concept.label is not None:
        if probabilities is None:
            raise ConfigError(f"{concept.text!r} names a class, which needs the dataset's domain classifier "
                              "(ganzoo fit-extractor --dataset DATASET)")
        if concept.label >= probabilities.shape[1]:
            raise ConfigError(f"class {concept.label} is outside the classifier's classes 0..{probabilities.shape[1] - 1}")
        candidates = candidates[probabilities[:, concept.label] >= min_confidence]
    if len(candidates) < k:
        raise ConfigError(f"only {len(candidates)} of {pool} pool samples fit {concept.text!r}; need {k} (draw a larger --pool)")
    if concept.prop is not None:
        score = values[concept.prop][candidates]
        key = {"high": -score, "low": score, "zero": score.abs()}[concept.direction]
    else:
        key = -probabilities[candidates, concept.label]
    return candidates[torch.argsort(key, stable=True)[:k]]

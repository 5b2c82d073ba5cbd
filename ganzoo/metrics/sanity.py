"""Sanity checks of an image feature extractor on real data, before trusting its scores.

Compares the training split against: the held-out split (FID small), Gaussian-noise images
(FID large), and the held-out split corrupted by increasing noise (FID and KID rising), and
measures the IS of real images (near the number of classes the classifier separates).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganzoo.config import as_option
from ganzoo.data.base import DataRequest
from ganzoo.metrics.extractors import resolve_extractor
from ganzoo.metrics.fidelity import all_images, features_of_images, score_features
from ganzoo.registry import Registry

NOISE_LEVELS = (0.05, 0.1, 0.2, 0.4, 0.8)


@dataclass
class SanityRow:
    """One comparison of the table."""

    case: str
    fid: float
    kid: float
    isc: float


def sanity_table(registry: Registry, dataset: str = "digits", extractor: str = "ganzoo-digits", train_split: str = "train",
                 heldout_split: str = "test", data_root: str | None = None, seed: int = 0) -> list[SanityRow]:
    """FID / KID against the training split, and IS, for real, noise and corrupted image sets."""
    spec = registry.dataset(dataset)
    options = {name: as_option(opt).default for name, opt in spec.options.items()}
    load = lambda split: spec.load(DataRequest(root=data_root, split=split, options=options))  # noqa: E731
    train, heldout = all_images(load(train_split)), all_images(load(heldout_split))
    resolved = resolve_extractor(extractor)
    model = resolved.create(["pool", "logits_unbiased"], cuda=False)
    reference = features_of_images(train, model)
    gen = torch.Generator().manual_seed(seed)
    cases = {
        f"{heldout_split} split": heldout,
        "Gaussian noise images": torch.randn(heldout.shape, generator=gen).clamp(-1, 1),
    }
    for sigma in NOISE_LEVELS:
        cases[f"{heldout_split} + noise {sigma}"] = (heldout + sigma * torch.randn(heldout.shape, generator=gen)).clamp(-1, 1)
    cases[f"{train_split} split (itself)"] = train
    rows = []
    for case, images in cases.items():
        scores = score_features(features_of_images(images, model), reference, ["fid", "kid", "isc"], type(model))
        rows.append(SanityRow(case, scores["fid"], scores["kid"], scores["isc"]))
    return rows

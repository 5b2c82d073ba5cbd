"""Nearest training neighbours of generated samples (Goodfellow et al. 2014, Figure 2).

A model that copied its training data would put its samples right on top of training images.
For each generated sample we find the nearest training image, in pixel space (L2 over pixels
in [-1, 1]) and in the domain classifier's feature space (L2 over its pooled features), and we
compare the mean nearest-neighbour distance of generated samples with that of held-out real
images (a split the model never saw): held-out images show how far a genuinely new image
of this domain lies from the training set. Generated samples much nearer than that are copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.analysis.domain import AUTO, domain_model
from ganzoo.analysis.figures import Row, cell_figure
from ganzoo.analysis.latent import check_images
from ganzoo.data.base import LoadedData
from ganzoo.data.loading import load_data
from ganzoo.errors import ConfigError, DataError
from ganzoo.plugins import get_registry
from ganzoo.sampling import LoadedRun

PIXELS = "pixels"


@dataclass
class Space:
    """Nearest-neighbour search in one space: running best distance and index of every query."""

    name: str
    queries: Tensor
    best: Tensor = field(init=False)
    index: Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.best = torch.full((len(self.queries),), float("inf"))
        self.index = torch.full((len(self.queries),), -1, dtype=torch.long)

    def update(self, bank: Tensor, offset: int) -> None:
        """Fold one chunk of training vectors (rows ``offset``...) into the running minimum."""
        where = torch.cdist(self.queries, bank).argmin(dim=1)
        # cdist's fast matrix-product form loses precision near 0 (a copy would show ~0.03): measure directly
        nearest = (self.queries - bank[where]).norm(dim=1)
        better = nearest < self.best
        self.best = torch.where(better, nearest, self.best)
        self.index = torch.where(better, where + offset, self.index)


@dataclass
class SpaceReport:
    """Distances in one space: generated samples and held-out images to their nearest training image."""

    generated: Tensor
    heldout: Tensor | None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"generated_mean": round(float(self.generated.mean()), 4),
                               "generated_median": round(float(self.generated.median()), 4)}
        if self.heldout is not None:
            out["heldout_mean"] = round(float(self.heldout.mean()), 4)
            out["heldout_median"] = round(float(self.heldout.median()), 4)
            out["generated_over_heldout"] = round(float(self.generated.mean() / self.heldout.mean()), 4)
            out["generated_nearer_than_every_heldout"] = int((self.generated < self.heldout.min()).sum())
        return out


@dataclass
class NeighboursReport:
    """What `ganzoo neighbours` found, and the picture it drew."""

    spaces: dict[str, SpaceReport]
    num_generated: int
    num_train: int
    num_heldout: int
    heldout_split: str | None
    extractor: str | None
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "spaces": {name: space.to_json() for name, space in self.spaces.items()},
            "num_generated": self.num_generated,
            "num_train": self.num_train,
            "num_heldout": self.num_heldout,
            "heldout_split": self.heldout_split,
            "feature_extractor": self.extractor,
            "figure": str(self.path) if self.path else None,
        }


def _flat(images: Tensor) -> Tensor:
    return images.float().reshape(len(images), -1)


def _load_split(loaded: LoadedRun, split: str | None, required: bool) -> LoadedData | None:
    if split is None:
        return None
    try:
        data = load_data(get_registry(), loaded.config, split=split)
    except DataError:
        if required:
            raise
        return None
    if tuple(data.info.shape) != tuple(loaded.data_info.shape):
        raise DataError(f"split {split!r} holds {list(data.info.shape)} images, "
                        f"but the model makes {list(loaded.data_info.shape)}")
    return data


@torch.no_grad()
def _generate(loaded: LoadedRun, n: int, seed: int, batch_size: int) -> Tensor:
    G = loaded.generator
    noise = torch.Generator().manual_seed(seed)
    chunks = []
    for begin in range(0, n, batch_size):
        chunks.append(G.sample(min(batch_size, n - begin), generator=noise).float().cpu())
    return torch.cat(chunks)


def _take(data: LoadedData, limit: int, batch_size: int) -> Tensor:
    """The first ``limit`` examples of a split, in stored order."""
    chunks, count = [], 0
    for batch in data.iterate(batch_size):
        chunks.append(batch.x.float().cpu())
        count += len(batch.x)
        if count >= limit:
            break
    return torch.cat(chunks)[:limit]


def find_neighbours(
    loaded: LoadedRun,
    *,
    num_samples: int = 500,
    show: int = 12,
    seed: int = 0,
    heldout_split: str | None = "test",
    feature_extractor: str = AUTO,
    batch_size: int = 500,
) -> tuple[NeighboursReport, dict[str, Any]]:
    """Search the training split for the nearest neighbour of every generated and held-out image.

    Returns the report and what the figure needs (the first ``show`` samples and their neighbours).
    """
    check_images(loaded, "neighbours")
    if num_samples < 2 or show < 1:
        raise ConfigError(f"need at least 2 samples and 1 to show, got {num_samples} and {show}")
    config = loaded.config
    train = _load_split(loaded, config["split"], required=True)
    heldout_data = None
    if heldout_split is not None and heldout_split != config["split"]:
        heldout_data = _load_split(loaded, heldout_split, required=heldout_split != "test")
    model = domain_model(feature_extractor, str(config["dataset"]), loaded.data_info)
    generated = _generate(loaded, num_samples, seed, batch_size)
    heldout = _take(heldout_data, num_samples, batch_size) if heldout_data is not None else None
    queries = {PIXELS: generated if heldout is None else torch.cat([generated, heldout])}
    spaces = {PIXELS: Space(PIXELS, _flat(queries[PIXELS]))}
    if model is not None:
        spaces[model.name] = Space(model.name, model(queries[PIXELS], batch_size)[0])
    shown = min(show, num_samples)
    nearest_images = {name: torch.zeros(shown, *loaded.data_info.shape) for name in spaces}
    seen = 0
    for batch in train.iterate(batch_size):
        images = batch.x.float().cpu()
        banks = {PIXELS: _flat(images)}
        if model is not None:
            banks[model.name] = model(images, batch_size)[0]
        for name, space in spaces.items():
            before = space.index[:shown].clone()
            space.update(banks[name], seen)
            changed = (space.index[:shown] != before).nonzero().flatten()
            nearest_images[name][changed] = images[space.index[changed] - seen]
        seen += len(images)
    reports = {
        name: SpaceReport(space.best[:num_samples], space.best[num_samples:] if heldout is not None else None)
        for name, space in spaces.items()
    }
    report = NeighboursReport(reports, num_samples, seen, 0 if heldout is None else len(heldout),
                              heldout_split if heldout is not None else None, model.name if model else None)
    shown_data = {"generated": generated[:shown], "nearest": nearest_images,
                  "distances": {name: space.best[:shown] for name, space in spaces.items()}}
    return report, shown_data


def _space_title(name: str) -> str:
    return "pixel L2" if name == PIXELS else f"{name} features"


def save_neighbours(report: NeighboursReport, shown: dict[str, Any], path: Path, title: str) -> Path:
    """Generated samples on top, each with its nearest training image beneath it, one row per space."""
    rows = [Row("generated sample", list(shown["generated"]))]
    for name, images in shown["nearest"].items():
        distances = shown["distances"][name]
        rows.append(Row(f"nearest training image\n({_space_title(name)})", list(images),
                        [f"d = {float(d):.2f}" for d in distances]))
    lines = []
    for name, space in report.spaces.items():
        data = space.to_json()
        line = f"{_space_title(name)}: mean nearest-training distance, generated {data['generated_mean']:.2f}"
        if "heldout_mean" in data:
            line += f" vs held-out real ({report.heldout_split}) {data['heldout_mean']:.2f}"
        lines.append(line)
    counts = f"{report.num_generated} generated"
    if report.num_heldout:
        counts += f" and {report.num_heldout} held-out"
    lines.append(f"({counts} images searched against all {report.num_train} training images)")
    return cell_figure(rows, path, title=title, footer="\n".join(lines), cell_inches=0.7)

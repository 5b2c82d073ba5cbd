"""Turning samples into files people can look at, by data modality.

images -> a PNG grid; 2-D points -> a scatter plot over the true modes when known;
token sequences -> a text file, one decoded sequence per line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.data.base import DataInfo, LoadedData
from ganzoo.nets.base import Generator


def grid_conditions(generator: Generator, n: int, data: LoadedData, device: torch.device) -> tuple[Tensor | None, int]:
    """Conditions for a sample grid and its row length: the first ``n`` source images of the data
    for an image-conditioned generator (the same every time), else :func:`grid_labels`."""
    if not generator.image_conditioned:
        return grid_labels(generator, n)
    condition = first_pairs(data, n, device)[0]
    return condition, max(1, round(math.sqrt(len(condition))))


def first_pairs(data: LoadedData, n: int, device: torch.device) -> tuple[Tensor, Tensor | None]:
    """The first ``n`` source images of translation data, with their true targets where the data pairs them."""
    batch = next(iter(data.iterate(n, device)))
    if batch.condition is None:
        raise ValueError("an image-conditioned generator needs data with source images (Batch.condition)")
    return batch.condition, batch.x if data.info.extras.get("paired") else None


PAIRS_PER_ROW = 4
"""Translations per grid row: each shown as source | translated | target."""


def translation_rows(sources: Tensor, translated: Tensor, targets: Tensor | None,
                     per_row: int = PAIRS_PER_ROW) -> tuple[Tensor, int]:
    """Images of a grid in rows of source | translated | target (| target left out when unknown), and its row length."""
    columns = [sources, translated] + ([targets] if targets is not None else [])
    cells = torch.stack(columns, dim=1).flatten(0, 1)
    return cells, per_row * len(columns)


def grid_labels(generator: Generator, n: int) -> tuple[Tensor | None, int]:
    """Labels for a sample grid (one row per class when conditional) and the grid's row length."""
    if generator.num_classes <= 0:
        return None, max(1, round(math.sqrt(n)))
    per_row = max(1, n // generator.num_classes)
    labels = torch.arange(generator.num_classes).repeat_interleave(per_row)
    return labels.to(generator.device), per_row


SMALL_IMAGE = 32
"""Images narrower than this are drawn enlarged (nearest neighbour) in sample grids."""


def save_image_grid(images: Tensor, path: Path, info: DataInfo, nrow: int | None = None) -> None:
    """Samples in [-1, 1] -> one PNG grid."""
    from torchvision.utils import save_image

    images = images.detach().float().cpu().reshape(len(images), *info.shape)
    if images.shape[-1] < SMALL_IMAGE:  # 8x8 scans: each pixel a visible square
        images = images.repeat_interleave(SMALL_IMAGE // images.shape[-1], -1).repeat_interleave(
            SMALL_IMAGE // images.shape[-2], -2)
    nrow = nrow or max(1, round(math.sqrt(len(images))))
    save_image(images.add(1).div(2).clamp(0, 1), str(path), nrow=nrow, padding=2, pad_value=1.0)


def save_points(points: Tensor, path: Path, info: DataInfo, nrow: int | None = None) -> None:
    """2-D samples -> a scatter plot, with the true modes of a known mixture in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganzoo.data.toy2d import MIXTURES

    points = points.detach().float().cpu()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, color="tab:blue", label="generated")
    mixture = info.extras.get("mixture")
    if mixture in MIXTURES:
        modes = MIXTURES[mixture]().modes
        ax.scatter(modes[:, 0], modes[:, 1], s=30, marker="x", color="tab:red", label="true modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def decode_tokens(tokens: Tensor, info: DataInfo) -> list[str]:
    """Token ids -> text with the data's vocabulary (ids joined by spaces when there is none)."""
    vocab = info.extras.get("vocab")
    stop = {info.extras.get("end_token"), info.extras.get("pad_token")} - {None}
    lines = []
    for row in tokens.detach().cpu().tolist():
        words = []
        for token in row:
            if token in stop:
                break
            words.append(vocab[token] if vocab else str(token))
        lines.append(" ".join(words))
    return lines


def save_sequences(tokens: Tensor, path: Path, info: DataInfo, nrow: int | None = None) -> None:
    """Token sequences -> a text file, one per line."""
    Path(path).write_text("\n".join(decode_tokens(tokens, info)) + "\n", encoding="utf-8")


Renderer = Callable[[Tensor, Path, DataInfo, "int | None"], None]
RENDERERS: dict[str, tuple[str, Renderer]] = {
    "image": (".png", save_image_grid),
    "translation": (".png", save_image_grid),
    "points": (".png", save_points),
    "sequence": (".txt", save_sequences),
}


TEXT_FORMS: dict[str, Callable[[Tensor, DataInfo], list[str]]] = {"sequence": decode_tokens}
"""Modalities whose samples read as lines of text (printed by ``ganzoo sample``)."""


def as_text(samples: Tensor, info: DataInfo) -> list[str] | None:
    """Samples as lines of text, or None for modalities that have no text form."""
    form = TEXT_FORMS.get(info.modality)
    return form(samples, info) if form is not None else None


def suffix_for(info: DataInfo) -> str:
    """The file suffix samples of this modality are saved with."""
    return RENDERERS[info.modality][0]


def save_samples(samples: Tensor, path: Path, info: DataInfo, nrow: int | None = None) -> Path:
    """Render samples of any modality to ``path`` (created with its parents)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    RENDERERS[info.modality][1](samples, path, info, nrow)
    return path

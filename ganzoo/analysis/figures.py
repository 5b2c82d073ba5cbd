"""Shared figure helpers: a headless pyplot, saving, and rows of image cells with labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 100) -> Path:
    """Write a figure to ``path`` (parents created) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path


def to_display(image: Tensor) -> Any:
    """One image in [-1, 1], (C, H, W) -> an (H, W) or (H, W, 3) array in [0, 1] for imshow."""
    image = image.detach().float().cpu().add(1).div(2).clamp(0, 1)
    return (image[0] if image.shape[0] == 1 else image.permute(1, 2, 0)).numpy()


@dataclass
class Row:
    """One row of a cell figure: a label on its left, images (None leaves a cell empty), captions."""

    label: str
    images: Sequence[Tensor | None]
    captions: Sequence[str] = field(default_factory=tuple)
    """Text under each cell (may be shorter than ``images``)."""


def cell_figure(
    rows: Sequence[Row],
    path: Path,
    *,
    title: str = "",
    footer: str = "",
    headers: Sequence[str] = (),
    cell_inches: float = 0.75,
    dpi: int = 110,
) -> Path:
    """Images laid out in labelled rows, each cell its own axes (so captions and gaps are exact)."""
    plt = pyplot()
    columns = max(len(row.images) for row in rows)
    caption_lines = max((len(c.splitlines()) for row in rows for c in row.captions if c), default=0)
    label_inches = 0.062 * max(len(line) for row in rows for line in row.label.splitlines()) + 0.25
    caption_inches = 0.12 * caption_lines + 0.08 if caption_lines else 0.04
    header_inches = 0.22 if headers else 0.0
    title_inches = 0.2 * (len(title.splitlines()) + 0.5) if title else 0.1
    footer_inches = 0.16 * (len(footer.splitlines()) + 0.9) if footer else 0.05
    grid_inches = label_inches + columns * (cell_inches + 0.06) + 0.1
    text_inches = max((len(line) * 0.058 for line in footer.splitlines()), default=0)
    text_inches = max([text_inches, *(len(line) * 0.072 for line in title.splitlines())]) + 0.3
    width = max(grid_inches, text_inches)
    margin = (width - grid_inches) / 2  # keep cells their size and centre the grid under wide titles
    height = title_inches + header_inches + len(rows) * (cell_inches + caption_inches) + footer_inches
    fig, axes = plt.subplots(len(rows), columns, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(
        left=(margin + label_inches) / width, right=1 - (margin + 0.1) / width,
        top=1 - (title_inches + header_inches) / height, bottom=(footer_inches + caption_inches) / height,
        wspace=0.06 / cell_inches, hspace=caption_inches / cell_inches,
    )
    for r, row in enumerate(rows):
        for c in range(columns):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            image = row.images[c] if c < len(row.images) else None
            if image is None:
                ax.axis("off")
                continue
            ax.imshow(to_display(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if c < len(row.captions) and row.captions[c]:
                ax.set_xlabel(row.captions[c], fontsize=6.5, labelpad=2)
        box = axes[r][0].get_position()
        fig.text(box.x0 - 0.06 / width, (box.y0 + box.y1) / 2, row.label, ha="right", va="center", fontsize=8)
    for c, header in enumerate(headers[:columns]):
        box = axes[0][c].get_position()
        fig.text((box.x0 + box.x1) / 2, box.y1 + 0.05 / height, header, ha="center", va="bottom", fontsize=7)
    if title:
        fig.text(0.5, 1 - 0.08 / height, title, ha="center", va="top", fontsize=9.5)
    if footer:
        fig.text(0.5, 0.06 / height, footer, ha="center", va="bottom", fontsize=7.5)
    return save_figure(fig, path, dpi=dpi)

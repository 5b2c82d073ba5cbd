"""Drawing the 1-D game in the style of Goodfellow et al. 2014, Figure 1.

Black dots: the data density p_data. Green: the generator's density p_g. Blue dashes: the
discriminator D(x). Below, the lower line is z (uniform), the upper line x; arrows show how
x = G(z) maps one onto the other (squeezed where p_g is high).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ganzoo.analysis.figures import pyplot, save_figure
from ganzoo.analysis.toy1d import Snapshot, Toy1DResult

X_LINE = -0.18
Z_LINE = -0.62
TITLES = {
    "a": "(a) start: p_g beside p_data,\nD partly trained",
    "b": "(b) D trained with G fixed:\nD approaches D* = p_data / (p_data + p_g)",
    "c": "(c) G steps with D fixed: D's gradient\nmoves G(z) toward the data",
    "d": "(d) G and D in turns:\np_g matches p_data, D(x) near 1/2",
}
STAGE_NAMES = {"a": "(a) D warm-up", "b": "(b) D converges, G fixed", "c": "(c) G steps, D fixed",
               "d": "(d) G and D in turns"}


def draw_snapshot(ax: Any, snap: Snapshot, *, title: str, show_optimal: bool = False, legend: bool = True) -> None:
    """One panel: densities, D(x), and the z -> x map, with its step and W1 distance."""
    x = snap.grid.numpy()
    top = max(1.05, float(snap.generator_density.max()) * 1.08, float(snap.data_density.max()) * 1.08)
    low, high = float(x[0]), float(x[-1])
    ax.plot(x, snap.data_density.numpy(), linestyle=(0, (1, 2)), color="black", linewidth=2.2, label="data p_data(x)")
    ax.plot(x, snap.generator_density.numpy(), color="tab:green", linewidth=2, label="generator p_g(x)")
    ax.plot(x, snap.discriminator.numpy(), linestyle="--", color="tab:blue", linewidth=1.8, label="discriminator D(x)")
    if show_optimal:
        ax.plot(x, snap.optimal_discriminator.numpy(), color="tab:blue", alpha=0.35, linewidth=4,
                label="D*(x) = p_data / (p_data + p_g)")
    # the z -> x map: z's line below, x's line above, one arrow per z
    middle, half = (low + high) / 2, 0.42 * (high - low)
    ax.hlines([X_LINE, Z_LINE], [low, middle - half], [high, middle + half], color="0.3", linewidth=1)
    ax.text(low, X_LINE + 0.03, "x", fontsize=10, ha="left", va="bottom", style="italic")
    ax.text(middle - half - 0.02 * (high - low), Z_LINE, "z", fontsize=10, ha="right", va="center", style="italic")
    for z, gx in zip(snap.z_arrows.tolist(), snap.x_arrows.tolist(), strict=True):
        ax.annotate("", xy=(gx, X_LINE - 0.01), xytext=(middle + half * z, Z_LINE + 0.01),
                    arrowprops={"arrowstyle": "-|>", "color": "0.35", "linewidth": 0.8, "mutation_scale": 7})
    ax.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.set_xlim(low, high)
    ax.set_ylim(Z_LINE - 0.1, top)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_ylabel("density, D(x)", fontsize=8)
    ax.tick_params(labelsize=7)
    d_low, d_high = snap.discriminator_on_data()
    ax.set_xlabel(f"step {snap.step}   W1(p_g, p_data) = {snap.wasserstein:.3f}   D(x) on the data: {d_low:.2f} to {d_high:.2f}",
                  fontsize=7.5)
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(loc="upper left", fontsize=6.5, frameon=False)


def save_strip(result: Toy1DResult, path: Path) -> Path:
    """The four stages side by side as one PNG."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.4), sharey=False)
    for ax, stage in zip(axes, ("a", "b", "c", "d"), strict=True):
        draw_snapshot(ax, result.stages[stage], title=TITLES[stage], show_optimal=stage == "b")
    cfg = result.config
    fig.suptitle(f"A 1-D GAN learning N({cfg.data_mean:g}, {cfg.data_std:g}²) from z ~ U(-1, 1) "
                 "(after Goodfellow et al. 2014, Figure 1)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return save_figure(fig, path, dpi=90)


def save_animation(result: Toy1DResult, path: Path, frame_ms: int = 120, hold_ms: int = 1200) -> Path:
    """Every snapshot as one frame of an animated GIF (each stage's last frame held a little longer)."""
    from PIL import Image

    plt = pyplot()
    stage_ends = {id(snap) for snap in result.stages.values()}
    images, durations = [], []
    for snap in result.frames:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        draw_snapshot(ax, snap, title=STAGE_NAMES[snap.stage], show_optimal=snap.stage == "b")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=85)
        plt.close(fig)
        buffer.seek(0)
        images.append(Image.open(buffer).convert("P", palette=Image.Palette.ADAPTIVE, colors=64))
        durations.append(hold_ms if id(snap) in stage_ends else frame_ms)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, optimize=True)
    return path

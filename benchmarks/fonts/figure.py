"""Held-out glyphs as source | model ... | truth, and each model's margin over the identity baseline with its
spread over bootstrap resamples of the held-out characters.

    python benchmarks/fonts/figure.py benchmarks/results/cpu-chinese --models pix2pix-zh-seed0 cyclegan-zh-seed0 \
        --identity identity-zh-seed0 --out docs/images/translation-chinese.png

Reads the bench's run folders (RESULTS/runs/RUN_ID); writes the figure and RESULTS/bootstrap.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch import Tensor

import ganzoo
from ganzoo.sampling import heldout_split, split_sources


def translations(run: Path) -> tuple[Tensor, Tensor, Tensor]:
    """(sources, translations, true targets) of the run's held-out split, in [-1, 1]."""
    loaded = ganzoo.load_run(run)
    sources, targets = split_sources(loaded, heldout_split(loaded))
    with torch.no_grad():
        out = torch.cat([loaded.generator.sample(len(part), labels=part).float()
                         for part in sources.split(128)]).clamp(-1, 1)
    return sources, out, targets


def per_glyph(translated: Tensor, targets: Tensor) -> dict[str, Tensor]:
    """L1 and SSIM of each glyph (the same definitions as the ``pixels`` metric)."""
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    return {"l1": (translated - targets).abs().flatten(1).mean(1),
            "ssim": ssim(translated, targets, data_range=(-1.0, 1.0), reduction="none")}


def bootstrap(model: dict[str, Tensor], identity: dict[str, Tensor], resamples: int, seed: int = 0) -> dict:
    """Margin over the identity (identity L1 - model L1; model SSIM - identity SSIM) and its bootstrap spread."""
    gen = torch.Generator().manual_seed(seed)
    n = len(model["l1"])
    draws = torch.randint(n, (resamples, n), generator=gen)
    out = {}
    for key, sign in (("l1", -1.0), ("ssim", 1.0)):
        margin = sign * (model[key] - identity[key])
        means = margin[draws].mean(1)
        out[key] = {"model": float(model[key].mean()), "identity": float(identity[key].mean()),
                    "margin": float(margin.mean()), "bootstrap_std": float(means.std()),
                    "ci95": [float(means.quantile(0.025)), float(means.quantile(0.975))]}
    return out


def draw(columns: list[tuple[str, Tensor]], path: Path, count: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(columns), count, figsize=(count * 0.8, len(columns) * 0.9), dpi=120,
                             squeeze=False)
    for row, (name, images) in enumerate(columns):
        for col in range(count):
            ax = axes[row][col]
            ax.imshow(images[col, 0].add(1).div(2).numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--models", nargs="+", required=True, help="run ids in RESULTS/runs")
    parser.add_argument("--identity", required=True, help="the identity baseline's run id")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=16, help="held-out glyphs shown")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    runs = args.results / "runs"
    sources, identity_out, targets = translations(runs / args.identity)
    identity = per_glyph(identity_out, targets)
    columns, summary = [("source", sources)], {"held_out": len(sources), "resamples": args.resamples, "models": {}}
    for run_id in args.models:
        _, out, _ = translations(runs / run_id)
        columns.append((run_id.rsplit("-seed", 1)[0], out))
        summary["models"][run_id] = bootstrap(per_glyph(out, targets), identity, args.resamples)
    columns.append(("truth", targets))
    pick = torch.linspace(0, len(sources) - 1, args.count).round().long()
    draw([(name, images[pick]) for name, images in columns], args.out, args.count)
    (args.results / "bootstrap.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

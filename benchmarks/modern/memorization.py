"""Do runs on 10% of the digits copy their 143 images? Nearest-neighbour distances, in pixels, of generated digits.

For each run, 2,000 samples are drawn (the weights ``ganzoo sample`` uses) and each is matched to its nearest
image among the 143 training images of the 10% subset (data.fraction 0.1, fraction_seed 0) and among the
other 1,294 training images. A generator that copies its subset puts most samples much nearer a subset image
than any other image; one trained on all images has no reason to prefer the subset (its share is the baseline).

Run:  python benchmarks/modern/memorization.py RUN_DIR [RUN_DIR ...] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

import ganzoo
from ganzoo.configure import resolve_run
from ganzoo.data.base import FRACTION_SEED_OFFSET, epoch_permutation
from ganzoo.data.loading import load_data
from ganzoo.plugins import get_registry

SAMPLES = 2000


def split_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The digits' training images in [-1, 1], flattened: the 10% subset and the rest."""
    registry = get_registry()
    _, config = resolve_run(registry, "dcgan", {})
    data = load_data(registry, config)
    images = torch.cat([batch.x for batch in data.iterate(512)]).float().flatten(1)  # as training serves them
    keep = max(1, int(len(images) * 0.1))
    order = epoch_permutation(len(images), FRACTION_SEED_OFFSET, 0)
    subset = torch.zeros(len(images), dtype=torch.bool)
    subset[order[:keep]] = True
    return images[subset], images[~subset]


def measure(run: Path, subset: torch.Tensor, rest: torch.Tensor) -> dict:
    samples = ganzoo.sample(run, SAMPLES, seed=11).float().flatten(1)
    near_subset = torch.cdist(samples, subset).min(1).values
    near_rest = torch.cdist(samples, rest).min(1).values
    ratio = (near_subset / near_rest).tolist()
    return {"run": run.name, "weights": ganzoo.load_run(run).weights,
            "nearer_subset_share": round(float((near_subset < near_rest).float().mean()), 4),
            "median_distance_ratio": round(statistics.median(ratio), 4),
            "median_distance_to_subset": round(float(near_subset.median()), 3),
            "median_distance_to_rest": round(float(near_rest.median()), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    subset, rest = split_digits()
    rows = [measure(run, subset, rest) for run in args.runs]
    print(f"{'run':34} {'weights':7} {'nearer a subset image':>22} {'median d_subset/d_rest':>23}")
    for row in rows:
        print(f"{row['run']:34} {row['weights']:7} {row['nearer_subset_share']:>22.3f} {row['median_distance_ratio']:>23.3f}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"samples": SAMPLES, "subset": len(subset), "rest": len(rest), "rows": rows},
                                            indent=2) + "\n")


if __name__ == "__main__":
    main()

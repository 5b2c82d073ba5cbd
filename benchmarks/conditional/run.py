"""Conditional GANs on digits: every conditional variant at its default settings over several seeds.

For each (variant, seed) it trains with the variant's defaults (only the seed changes), times the
training, scores the final generator with ganzoo's default image metrics (FID, IS, KID, class
accuracy, intra-class FID; ganzoo-digits extractor, 10,000 samples) and appends one JSON line to
results.jsonl. Finished pairs are skipped, so an interrupted benchmark continues where it stopped.
At the end it writes results.md (mean, sample standard deviation and range over seeds) and a
10 x 10 class grid of each variant's first seed under docs/conditional/.

    flock /tmp/ganzoo-heavy.lock .venv/bin/python benchmarks/conditional/run.py

Run it alone on the machine (under the lock): the training times it records are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import ganzoo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VARIANTS = ("cgan", "cgan-conv", "acgan", "projection")
SUMMARY_KEYS = ("class_acc", "class_acc_min", "intra_fid", "fid", "isc", "kid", "train_s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated variants")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--num-samples", type=int, default=10_000, help="generated samples per evaluation")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "conditional", help="where the runs go")
    parser.add_argument("--results", type=Path, default=HERE / "results.jsonl")
    parser.add_argument("--grids", type=Path, default=ROOT / "docs" / "conditional", help="where class grids go")
    return parser.parse_args()


def done(results: Path) -> set[tuple[str, int]]:
    if not results.is_file():
        return set()
    return {(r["variant"], r["seed"]) for r in map(json.loads, results.read_text().splitlines())}


def run_one(variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Train one variant at its defaults with one seed, score it, return the record."""
    out = args.runs / f"{variant}-seed{seed}"
    started = time.perf_counter()
    result = ganzoo.train(variant, seed=seed, out=out, overwrite=True, progress=False)
    train_s = time.perf_counter() - started
    report = ganzoo.evaluate(result.path, num_samples=args.num_samples, seed=0)
    per_class = [v for k, v in report.scores.items() if k.startswith("class_acc_")]
    config = json.loads((out / "config.json").read_text())["config"]
    return {
        "variant": variant,
        "seed": seed,
        "steps": result.step,
        "batch_size": config["batch_size"],
        "train_s": round(train_s, 1),
        "scores": {**report.scores, "class_acc_min": min(per_class)},
        "protocols": report.protocols,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "processor": platform.processor() or platform.machine()},
    }


def spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4g} ± {std:.2g} ({min(values):.4g}–{max(values):.4g})"


def summarise(results: Path) -> str:
    """A markdown table: per variant, mean ± sample std (min–max) over seeds."""
    records = [json.loads(line) for line in results.read_text().splitlines()]
    lines = [
        "# Conditional GANs on digits, default settings",
        "",
        "Produced by `benchmarks/conditional/run.py` (see its docstring). Each cell: mean ± sample standard "
        "deviation (min–max) over seeds. Scores: ganzoo-digits extractor and judge, 10,000 generated samples "
        "(1,000 per class for class accuracy and intra-FID) against the 1,437 training images at the run's image "
        "size (`image`; the extractor resizes to 32x32). FID and intra-FID compare only runs of one image size. "
        "`class_acc_min`: the worst class's accuracy. `train_s`: wall-clock training seconds on a shared 2-core "
        "machine.",
        "",
        "| variant | seeds | image | steps x batch | " + " | ".join(SUMMARY_KEYS) + " |",
        "|---|---|---|---|" + "---|" * len(SUMMARY_KEYS),
    ]
    for variant in dict.fromkeys(r["variant"] for r in records):
        rows = [r for r in records if r["variant"] == variant]
        cells = [spread([r["train_s"] if k == "train_s" else r["scores"][k] for r in rows]) for k in SUMMARY_KEYS]
        seeds = ",".join(str(r["seed"]) for r in rows)
        image = "x".join(str(n) for n in rows[0]["protocols"]["fid"]["image_size"][1:])
        lines.append(f"| `{variant}` | {seeds} | {image} | {rows[0]['steps']} x {rows[0]['batch_size']} | "
                     + " | ".join(cells) + " |")
    lines += ["", "Per run:", "", "| variant | seed | class_acc | worst class | intra_fid | fid | isc | train_s |",
              "|---|---|---|---|---|---|---|---|"]
    for r in records:
        s = r["scores"]
        worst = min(range(10), key=lambda c: s[f"class_acc_{c}"])
        lines.append(f"| `{r['variant']}` | {r['seed']} | {s['class_acc']:.4f} | {worst}: {s[f'class_acc_{worst}']:.3f} | "
                     f"{s['intra_fid']:.3f} | {s['fid']:.3f} | {s['isc']:.3f} | {r['train_s']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:  # every variant's first seed first: a failing variant shows early
        for variant in variants:
            if (variant, seed) in done(args.results):
                continue
            record = run_one(variant, seed, args)
            with open(args.results, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
            print(f"{variant} seed {seed}: class_acc {record['scores']['class_acc']:.4f}, "
                  f"intra_fid {record['scores']['intra_fid']:.3f}, fid {record['scores']['fid']:.3f}, "
                  f"{record['train_s']} s", flush=True)
    args.grids.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        run = args.runs / f"{variant}-seed{seeds[0]}"
        if run.is_dir():  # one row per class, ten samples each
            ganzoo.sample(run, 100, seed=0, out=args.grids / f"{variant}.png")
    (args.results.parent / "results.md").write_text(summarise(args.results), encoding="utf-8")


if __name__ == "__main__":
    main()

"""The figures of docs/modern-training.md, from the cpu-modern bench directory.

1. FID against the fraction of training images, one line per technique (mean +- std over seeds);
2. ADA's p over training at both fractions, one line per seed (read from the runs' metrics.jsonl, and
   kept in ada_p.json beside results.jsonl so the figure can be redrawn from committed files);
3. the seed-0 sample grids of chosen entries side by side;
4. summary.md beside results.jsonl: one table of FID, KID, precision, recall, density and coverage (their
   leaderboard tables are two, since density/coverage have a protocol of their own) with training time.

Run:  python benchmarks/modern/figures.py [--results benchmarks/results/cpu-modern] [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from ganzoo.benchmarking.leaderboard import weight_variants  # noqa: E402
from ganzoo.benchmarking.results import latest_rows, read_rows  # noqa: E402

GRIDS = ["dcgan-100-plain", "dcgan-100-ema-diffaugment", "dcgan-100-ada", "sngan-100-plain",
         "dcgan-10-plain", "dcgan-10-ema-diffaugment", "dcgan-10-ada", "sngan-10-plain"]


def technique_of(entry: str) -> tuple[str, float, str]:
    """'dcgan-10-ema-diffaugment' -> ('dcgan', 0.1, 'ema-diffaugment')."""
    model, percent, technique = entry.split("-", 2)
    return model, int(percent) / 100, technique


def fid_by_fraction(rows: list[dict]) -> dict[str, dict[float, list[float]]]:
    """{'dcgan ema-diffaugment (ema)': {0.1: [fid per seed], 1.0: [...]}, ...}."""
    out: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get("status") != "ok":
            continue
        model, fraction, technique = technique_of(row["entry"])
        for scored in weight_variants(row):
            raw_of_ema = scored.get("weights") == "raw" and "ema" in technique
            label = f"{model} {technique}" + (" (raw G)" if raw_of_ema else "")
            if "fid" in scored["scores"]:
                out[label][fraction].append(float(scored["scores"]["fid"]))
    return out


def plot_fid(rows: list[dict], out: Path) -> Path:
    series = fid_by_fraction(rows)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for label in sorted(series):
        points = sorted(series[label].items())
        xs = [x for x, _ in points]
        means = [statistics.fmean(v) for _, v in points]
        stds = [statistics.stdev(v) if len(v) > 1 else 0.0 for _, v in points]
        style = "--" if label.startswith("sngan") else ("-." if "raw G" in label else "-")
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, linestyle=style, label=label)
    ax.set_xscale("log")
    ax.set_xticks([0.1, 1.0], ["10% (143 images)", "100% (1,437 images)"])
    ax.set_yscale("log")
    ax.set_ylabel("FID (ganzoo-digits features, 10k vs the whole training split) ↓")
    ax.set_xlabel("fraction of the digits' training images")
    ax.set_title("FID against data fraction, mean ± std over 3 seeds")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = out / "modern-fid-by-fraction.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ada_trajectories(results: Path, rows: list[dict]) -> dict[str, list[list[float]]]:
    """{run_id: [[step, p, r_t], ...]} of every ADA run, from its metrics.jsonl (or the kept ada_p.json)."""
    kept = results / "ada_p.json"
    found = {}
    for row in rows:
        if "-ada" not in row["entry"]:
            continue
        metrics = results / "runs" / row["run_id"] / "metrics.jsonl"
        if metrics.is_file():
            records = [json.loads(line) for line in metrics.read_text().splitlines()]
            found[row["run_id"]] = [[r["step"], r["ada_p"], r["ada_rt"]] for r in records if "ada_p" in r]
    if found:
        kept.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        return found
    return json.loads(kept.read_text()) if kept.is_file() else {}


def plot_ada(results: Path, rows: list[dict], out: Path) -> Path:
    runs = ada_trajectories(results, rows)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for run_id, points in sorted(runs.items()):
        steps, p, rt = zip(*points, strict=True)
        colour = "tab:red" if "-10-" in run_id else "tab:blue"
        label = ("10%" if "-10-" in run_id else "100%") + " seed " + run_id.rsplit("seed", 1)[1]
        left.plot(steps, p, color=colour, alpha=0.85, label=label)
        right.plot(steps, rt, color=colour, alpha=0.85, label=label)
    right.axhline(0.6, color="0.4", linestyle="--", linewidth=1, label="target 0.6")
    left.set_title("ADA: augmentation probability p")
    right.set_title("r_t = E[sign D(real)] (mean over each log window)")
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = out / "modern-ada-p.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_grids(results: Path, out: Path) -> Path:
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.6))
    for ax, entry in zip(axes.flat, GRIDS, strict=True):
        sample = results / "samples" / f"{entry}-seed0.png"
        ax.axis("off")
        if sample.is_file():
            with Image.open(sample) as image:
                ax.imshow(image.convert("L"), cmap="gray")
        ax.set_title(entry, fontsize=9)
    fig.suptitle("seed 0 of each entry (EMA weights where the run kept an EMA)", fontsize=10)
    fig.tight_layout()
    path = out / "modern-samples.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


SUMMARY_KEYS = ("fid", "kid", "precision", "recall", "density", "coverage")


def _mean_std(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summary_table(rows: list[dict]) -> str:
    """One markdown row per (entry, weights): mean ± std over seeds, ordered by mean FID."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        if row.get("status") == "ok":
            for scored in weight_variants(row):
                groups[(row["entry"], str(scored.get("weights", "raw")))].append(scored)
    lines = ["| entry | weights | fraction | steps | " + " | ".join(SUMMARY_KEYS) + " | train s | seeds |",
             "|---|---|---:|---:|" + "---:|" * len(SUMMARY_KEYS) + "---:|---:|"]
    order = sorted(groups, key=lambda k: statistics.fmean(r["scores"].get("fid", float("inf")) for r in groups[k]))
    for entry, weights in order:
        runs = groups[(entry, weights)]
        _, fraction, _ = technique_of(entry)
        cells = [entry, weights, f"{fraction:g}", str(runs[0]["step"])]
        for key in SUMMARY_KEYS:
            digits = 4 if key == "kid" else 3 if key != "fid" else 2
            cells.append(_mean_std([float(r["scores"][key]) for r in runs if key in r["scores"]], digits))
        cells += [_mean_std([float(r["train_seconds"]) for r in runs], 0), str(len(runs))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results/cpu-modern"))
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = list(latest_rows(read_rows(args.results)).values())
    for path in (plot_fid(rows, args.out), plot_ada(args.results, rows, args.out), plot_grids(args.results, args.out)):
        print(path)
    summary = args.results / "summary.md"
    summary.write_text(summary_table(rows))
    print(summary)


if __name__ == "__main__":
    main()

"""The why-GANs table and picture from a cpu-likelihood bench directory.

Reads OUT/results.jsonl (the latest ok row of each run), OUT/sampling.json (sampling_time.py) and
OUT/parzen_copiers.json (parzen_copiers.py); writes OUT/summary.md, one row per entry with the mean
+- standard deviation over seeds, and a figure of 64 samples per entry (seed 0, as image scores see
them: the native models' samples upsampled like the real digits) beside 64 real training digits.

Run:  python benchmarks/likelihood/summary.py OUT [--figure docs/images/why-gans-samples.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

COLUMNS = (("bits_per_dim", "bits/dim (exact)", 3), ("bits_per_dim_bound", "bits/dim (ELBO bound)", 3),
           ("fid", "FID", 2), ("kid", "KID", 4), ("precision", "precision", 3), ("recall", "recall", 3),
           ("parzen", "Parzen (nats)", 0), ("sharpness", "sharpness", 4))


def cell(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.{digits}f} ± {spread:.{digits}f}"


def rows_by_entry(out: Path) -> dict[str, list[dict]]:
    latest: dict[str, dict] = {}
    for line in (out / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        latest[row["run_id"]] = row
    entries: dict[str, list[dict]] = {}
    for row in latest.values():
        if row.get("status") == "ok":
            entries.setdefault(row["entry"], []).append(row)
    return entries


def table(out: Path) -> str:
    entries = rows_by_entry(out)
    sampling = {row["run"].rsplit("-seed", 1)[0]: row for row in json.loads((out / "sampling.json").read_text())["rows"]}
    real = [run["scores"]["sharpness_real"] for runs in entries.values() for run in runs if "sharpness_real" in run["scores"]]
    head = ["entry", *(title for _, title, _ in COLUMNS), "train s", "s per 10,000 samples", "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in sorted(entries.items(), key=lambda item: statistics.fmean(r["scores"]["fid"] for r in item[1])):
        cells = [cell([r["scores"][key] for r in runs if key in r["scores"]], digits) for key, _, digits in COLUMNS]
        timing = sampling.get(name)
        draw = "-" if timing is None else f"{timing['seconds_for_10000']:.1f}"
        draw += " (extrapolated)" if timing and timing["extrapolated"] else ""
        lines.append("| " + " | ".join([name, *cells, cell([r["train_seconds"] for r in runs], 0), draw, str(len(runs))]) + " |")
    lines.append(f"| real digits (train) | - | - | - | - | - | - | - | {statistics.fmean(real):.4f} | - | - | - |")
    copiers = out / "parzen_copiers.json"
    if copiers.is_file():
        for row in json.loads(copiers.read_text())["rows"]:
            parzen = f"{row['parzen']:.0f} ± {row['parzen_se']:.0f} (s.e.)"
            lines.append(f"| {row['model']} (no model) | - | - | - | - | - | - | {parzen} | - | - | - | - |")
    return "\n".join(lines) + "\n"


def figure(out: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    import ganzoo
    from ganzoo.data.base import DataRequest
    from ganzoo.data.digits import load_digits
    from ganzoo.evaluation import scoring_context
    from ganzoo.metrics.protocol import EvalProtocol
    from ganzoo.plugins import get_registry

    panels = [("real digits", load_digits(DataRequest(split="train")).x[:64])]
    for name in sorted(rows_by_entry(out)):
        run = out / "runs" / f"{name}-seed0"
        loaded = ganzoo.load_run(run)
        ctx = scoring_context(get_registry(), loaded.generator, loaded.config, loaded.data_info,
                              EvalProtocol(metrics=("sharpness",)), torch.device("cpu"), run_dir=run, progress=False)
        with torch.no_grad():
            panels.append((name, ctx.generator.sample(64, generator=torch.Generator().manual_seed(0))))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
    for ax, (title, images) in zip(axes, panels, strict=True):
        grid = make_grid(images.float().add(1).div(2).clamp(0, 1), nrow=8, padding=1, pad_value=1.0)
        ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    text = table(args.out)
    (args.out / "summary.md").write_text(text)
    print(text)
    if args.figure:
        figure(args.out, args.figure)


if __name__ == "__main__":
    main()

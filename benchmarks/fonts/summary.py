"""The translation bench in one table: each entry's scores over its seeds (mean, std, min), its training time,
and its margin over the identity baseline on the same data in units of its seed spread.

    python benchmarks/fonts/summary.py benchmarks/results/cpu-translation > benchmarks/results/cpu-translation/summary.md
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

SCORES = ("l1", "ssim", "psnr", "char_acc", "style_acc")
LOWER = {"l1"}


def rows(results: Path) -> dict[str, list[dict]]:
    by_entry: dict[str, list[dict]] = defaultdict(list)
    for line in (results / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.get("status") == "ok":
            by_entry[row["entry"]].append(row)
    return by_entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    by_entry = rows(args.results)
    identity = {row["dataset"]: row["scores"] for name, runs in by_entry.items() if runs[0]["model"] == "identity"
                for row in runs}
    print("| entry | seeds | " + " | ".join(SCORES) + " | train s (max) |")
    print("|---|---|" + "---|" * len(SCORES) + "---|")
    margins = []
    for name, runs in by_entry.items():
        cells = []
        for key in SCORES:
            values = [r["scores"][key] for r in runs if key in r["scores"]]
            if not values:
                cells.append("")
                continue
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.4f} ± {std:.4f}" if len(values) > 1 else f"{values[0]:.4f}")
            base = identity.get(runs[0]["dataset"], {}).get(key)
            if runs[0]["model"] != "identity" and base is not None and len(values) > 1 and key in ("l1", "ssim"):
                gain = (base - statistics.mean(values)) if key in LOWER else (statistics.mean(values) - base)
                margins.append(f"- {name} {key}: {gain:+.4f} over identity = {gain / std:.1f}x the seed std "
                               f"({std:.4f})" if std > 0 else f"- {name} {key}: {gain:+.4f} over identity")
        train = max(r["train_seconds"] for r in runs)
        print(f"| {name} | {len(runs)} | " + " | ".join(cells) + f" | {train:.0f} |")
    print()
    print("\n".join(margins))


if __name__ == "__main__":
    main()

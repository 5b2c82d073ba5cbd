"""Is a text GAN beyond maximum likelihood's quality-diversity curve, or on it?

Reads temperature sweeps (``ganzoo eval RUN --temperature-sweep ... --out FILE``) and, for every point of every
other sweep, interpolates the baseline's curve (MLE's, the first file) at the same diversity and prints the
baseline's quality there: a model is better than MLE only where its quality beats MLE's at equal diversity
(Caccia et al. 2020). Writes the comparison as JSON beside the figure's data.

    python benchmarks/text/compare_curves.py benchmarks/results/cpu-text-oracle/sweeps/mle-seed0.json \\
        benchmarks/results/cpu-text-oracle/sweeps/{seqgan,seqgan-constant-reward,relgan}-seed0.json \\
        --quality nll_oracle --diversity nll_test --out benchmarks/results/cpu-text-oracle/sweeps/comparison.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LOWER_IS_BETTER = {"nll_oracle", "nll_test", "self_bleu2", "self_bleu3", "self_bleu4", "self_bleu5"}


def points(path: Path, quality: str, diversity: str) -> list[tuple[float, float, float]]:
    """(temperature, diversity, quality) of a sweep file, sorted by diversity."""
    sweep = json.loads(path.read_text(encoding="utf-8"))
    rows = [(p["temperature"], p["scores"][diversity], p["scores"][quality]) for p in sweep["points"]]
    return sorted(rows, key=lambda row: row[1])


def interpolate(curve: list[tuple[float, float, float]], x: float) -> float | None:
    """The curve's quality at diversity x (linear between its two neighbouring points); None outside it."""
    for (_, x0, y0), (_, x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path, help="MLE's sweep file")
    parser.add_argument("others", type=Path, nargs="+", help="sweep files of the models compared with it")
    parser.add_argument("--quality", default="nll_oracle")
    parser.add_argument("--diversity", default="nll_test")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    mle = points(args.baseline, args.quality, args.diversity)
    temperatures = [t for t, _, _ in mle]
    if temperatures != sorted(temperatures) and temperatures != sorted(temperatures, reverse=True):
        raise SystemExit(f"MLE's {args.diversity} is not monotone in the temperature ({temperatures} in order of "
                         f"{args.diversity}): its curve folds, so equal diversity does not pick one point; use another")
    sign = -1 if args.quality in LOWER_IS_BETTER else 1
    rows = []
    for path in args.others:
        for temperature, x, y in points(path, args.quality, args.diversity):
            at = interpolate(mle, x)
            gain = None if at is None else sign * (y - at)
            rows.append({"sweep": path.stem, "temperature": temperature, args.diversity: x, args.quality: y,
                         f"mle_{args.quality}_at_same_{args.diversity}": at, "gain_over_mle": gain})
            shown = "outside MLE's curve" if at is None else f"MLE there {at:.3f}, gain {gain:+.3f}"
            print(f"{path.stem:28s} T={temperature:<5g} {args.diversity} {x:.3f} {args.quality} {y:.3f}: {shown}")
    if args.out:
        args.out.write_text(json.dumps({"baseline": args.baseline.stem, "quality": args.quality,
                                        "diversity": args.diversity, "rows": rows}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

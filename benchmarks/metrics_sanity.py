"""Print the metrics sanity table (docs/metrics.md) for a dataset and extractor.

    python benchmarks/metrics_sanity.py                       # digits, ganzoo-digits
    python benchmarks/metrics_sanity.py --dataset mnist --extractor ganzoo-mnist \
        --data-root ../shared/data --train-split test --heldout-split test
"""

from __future__ import annotations

import argparse
import time

from ganzoo.metrics.sanity import sanity_table
from ganzoo.plugins import get_registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--extractor", default="ganzoo-digits")
    parser.add_argument("--data-root")
    parser.add_argument("--train-split", default="train")
    parser.add_argument("--heldout-split", default="test")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = sanity_table(get_registry(), args.dataset, args.extractor, args.train_split, args.heldout_split, args.data_root)
    print(f"| compared with {args.dataset}:{args.train_split} | FID | KID | IS |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row.case} | {row.fid:.3f} | {row.kid:.4f} | {row.isc:.2f} |")
    print(f"\n({args.extractor}; {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()

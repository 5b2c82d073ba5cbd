"""Compare the score rows of two or more bench directories run by the same seed, run by run.

Prints, for each run present everywhere, whether its scores are bitwise identical across the
directories (and which executor and how many threads each row ran with), then exits 1 if any run
differs. Used for benchmarks/results/cpu-executors (the CPU suite's seed 0 on local, ray and slurm):
    python benchmarks/executors/compare.py benchmarks/results/cpu-executors/{local,ray,slurm}
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def ok_rows(folder: Path) -> dict[str, dict[str, Any]]:
    """The latest ok row of every run in ``folder/results.jsonl``."""
    rows: dict[str, dict[str, Any]] = {}
    for line in (folder / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["status"] == "ok":
            rows[row["run_id"]] = row
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if len(args.folders) < 2:
        parser.error("give at least two bench directories")
    tables = [ok_rows(folder) for folder in args.folders]
    common = sorted(set.intersection(*(set(table) for table in tables)))
    differing = 0
    for run_id in common:
        rows = [table[run_id] for table in tables]
        same = all(row["scores"] == rows[0]["scores"] for row in rows)
        differing += not same
        where = ", ".join(f"{row.get('executor', '?')} ({row['threads']} thread{'s' * (row['threads'] != 1)})"
                          for row in rows)
        print(f"{run_id:28s} {'identical' if same else 'DIFFERENT'}  {where}")
    for folder, table in zip(args.folders, tables, strict=True):
        if missing := sorted(set(table) - set(common)):
            print(f"only in {folder}: {', '.join(missing)}")
    print(f"{len(common)} runs compared, {differing} differ")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())

"""Time to draw 10,000 samples from each run's generator, on this machine's CPU threads, one run at a time.

Each generator draws a warm-up batch, then ``--measure`` samples in batches of 250 (the batch image scores
use) under ``torch.no_grad``; the time for 10,000 is that measurement scaled up, and marked "extrapolated"
unless ``--measure`` is 10,000 itself. Native-resolution runs (vae, pixelcnn on the 8x8 digits) are timed
as the scores see them: upsampled to 32x32, which costs microseconds.

Run:  python benchmarks/likelihood/sampling_time.py RUN_DIR [RUN_DIR ...] [--measure N] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.evaluation import scoring_context
from ganzoo.metrics.protocol import EvalProtocol
from ganzoo.plugins import get_registry

TARGET = 10_000
BATCH = 250


def time_run(run: Path, measure: int) -> dict:
    loaded = ganzoo.load_run(run)
    ctx = scoring_context(get_registry(), loaded.generator, loaded.config, loaded.data_info,
                          EvalProtocol(metrics=("sharpness",)), torch.device("cpu"), run_dir=run, progress=False)
    generator, noise = ctx.generator, torch.Generator().manual_seed(0)
    with torch.no_grad():
        generator.sample(BATCH, generator=noise)  # warm-up: first-call allocations and kernel choices
        started = time.perf_counter()
        for begin in range(0, measure, BATCH):
            generator.sample(min(BATCH, measure - begin), generator=noise)
        seconds = time.perf_counter() - started
    return {"run": run.name, "model": loaded.spec.name, "measured_samples": measure, "measured_seconds": round(seconds, 3),
            "seconds_per_image": seconds / measure, "seconds_for_10000": round(seconds * TARGET / measure, 2),
            "extrapolated": measure != TARGET, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--measure", type=int, default=TARGET, help="samples actually drawn per run")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    rows = [time_run(run, args.measure) for run in args.runs]
    for row in rows:
        mark = " (extrapolated)" if row["extrapolated"] else ""
        per_image = row["seconds_per_image"] * 1e3
        print(f"{row['run']:28} {per_image:10.3f} ms/image  {row['seconds_for_10000']:9.1f} s / 10,000{mark}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Time `ganzoo bench` on the local executor against the ray executor, side by side.

Each round runs the six-run suite (overhead.toml) once per executor into a fresh output folder, the
order alternating between rounds so a slow spell on a shared machine lands on both alike. Both run two
runs at a time with one thread each (local: ``--jobs 2 -E threads=1``; ray: a local two-CPU cluster,
one CPU per task). A second suite of one 10-step run, timed the same way, gives the fixed start-up
cost of each executor: its wall time is almost all start-up and tear-down.

Run from the repository root:
    python benchmarks/executors/overhead.py [--rounds 2] [--json-out benchmarks/results/cpu-executors/overhead.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).with_name("overhead.toml")
EXECUTOR_ARGS = {
    "local": ["--jobs", "2", "-E", "threads=1"],
    "ray": ["--executor", "ray", "-E", "local_cpus=2", "-E", "cpus=1"],
}
TINY_SUITE = """name = "startup"
seeds = [0]
steps = 10
[options]
device = "cpu"
sample_every = 0
[[entry]]
model = "vanilla"
dataset = "ring"
[entry.options]
eval_every = 0
[entry.protocol]
metrics = ["modes"]
num_samples = 500
"""


def time_bench(suite: Path, executor: str, out: Path, ray_temp: Path) -> dict[str, Any]:
    """Wall time of one whole `ganzoo bench` command, and the sum of its runs' own wall times."""
    command = [sys.executable, "-m", "ganzoo", "bench", str(suite), "--out", str(out), "--quiet",
               *EXECUTOR_ARGS[executor]]
    if executor == "ray":
        command += ["-E", f"temp_dir={ray_temp}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{executor} bench failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {"wall_seconds": round(wall, 2), "runs": len(rows),
            "run_wall_seconds": round(sum(row["wall_seconds"] for row in rows), 2),
            "scores": {row["run_id"]: row["scores"] for row in rows}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json-out", type=Path, default=ROOT / "benchmarks/results/cpu-executors/overhead.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gz-overhead-"))
    tiny = work / "startup.toml"
    tiny.write_text(TINY_SUITE)
    measured: dict[str, dict[str, list[dict[str, Any]]]] = {"suite": {}, "startup": {}}
    try:
        for round_index in range(args.rounds):
            order = list(EXECUTOR_ARGS) if round_index % 2 == 0 else list(reversed(EXECUTOR_ARGS))
            for name, suite in (("startup", tiny), ("suite", SUITE)):
                for executor in order:
                    out = work / f"{name}-{executor}-{round_index}"
                    row = time_bench(suite, executor, out, work / "ray")
                    measured[name].setdefault(executor, []).append(row)
                    print(f"round {round_index} {name:7s} {executor:5s} {row['wall_seconds']:7.1f} s "
                          f"(runs' own time {row['run_wall_seconds']:.1f} s)", flush=True)
                    shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = {name: {executor: statistics.median(row["wall_seconds"] for row in rows)
                     for executor, rows in by_executor.items()} for name, by_executor in measured.items()}
    same_scores = all(local["scores"] == ray["scores"]
                      for local, ray in zip(measured["suite"]["local"], measured["suite"]["ray"], strict=True))
    summary = {
        "median_wall_seconds": median,
        "ray_over_local": round(median["suite"]["ray"] / median["suite"]["local"], 3),
        "startup_cost_seconds": {executor: seconds for executor, seconds in median["startup"].items()},
        "ray_extra_startup_seconds": round(median["startup"]["ray"] - median["startup"]["local"], 2),
        "identical_scores": same_scores,
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "measured": {name: {executor: [{k: v for k, v in row.items() if k != "scores"} for row in rows]
                            for executor, rows in by_executor.items()} for name, by_executor in measured.items()},
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"suite medians: local {median['suite']['local']:.1f} s, ray {median['suite']['ray']:.1f} s "
          f"(ray/local {summary['ray_over_local']:.3f}); one-run start-up: local {median['startup']['local']:.1f} s, "
          f"ray {median['startup']['ray']:.1f} s; scores identical: {same_scores}")


if __name__ == "__main__":
    main()

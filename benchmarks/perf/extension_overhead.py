"""Per-step cost of each training extension on the 32x32 digits dcgan setup, side by side in one process.

Every configuration (plain dcgan, +EMA, +DiffAugment, +ADA, +lazy R1, +LeCam, +R1 every step) gets its own
TrainState, built exactly as `ganzoo train` builds it (widths 32, batch 64, bf16 autocast + channels_last,
fused Adam), and each step runs as the trainer runs it (the step, the extensions' logs, the step counter, which
lazy R1 keys on). After a warm-up, the rounds interleave them: each round times ``--steps`` steps of every
configuration, in an order rotated by one per round, so a slow spell of a shared machine lands on all of
them alike. The table gives milliseconds per step (median and fastest round) and the ratio to plain dcgan: the
median over rounds of each round's ratio (paired), and the ratio of the fastest rounds.

Run:  python benchmarks/perf/extension_overhead.py [--rounds 7] [--steps 40] [--threads 2] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ganzoo.configure import resolve_run
from ganzoo.plugins import get_registry
from ganzoo.trainer.setup import prepare_state

BASE = {"g_width": 32, "d_width": 32, "precision": "bf16", "device": "cpu"}
CONFIGS: dict[str, dict[str, Any]] = {
    "plain": {},
    "ema 0.999": {"ema": 0.999},
    "diffaugment": {"augment": "diffaugment"},
    "ada (p=0.5)": {"augment": "ada"},
    "r1:1:4 (lazy)": {"reg": ["r1:1:4"]},
    "r1:1:16 (lazy)": {"reg": ["r1:1:16"]},
    "r1:1 (every step)": {"reg": ["r1:1"]},
    "lecam:0.3": {"reg": ["lecam:0.3"]},
}


def build(options: dict[str, Any]):
    registry = get_registry()
    spec, config = resolve_run(registry, "dcgan", {**BASE, **options})
    state = prepare_state(registry, spec, config)
    for extension in state.extensions:
        if extension.name == "ada":
            extension.p, extension.kimg = 0.5, float("inf")  # held at a mid-run probability: at p = 0 ADA costs nothing
    phase_step = spec.schedule(config)[0].step

    def step(state) -> None:
        """What the trainer's hot path does per step: the phase's step, extension logs, the step counter."""
        phase_step(state)
        for extension in state.extensions:
            extension.logs(state)
        state.step += 1

    return state, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {name: build(options) for name, options in CONFIGS.items()}
    for state, step in runs.values():  # warm-up: first-call costs (kernels, allocator) out of the timing
        for _ in range(5):
            step(state)
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            state, step = runs[name]
            started = time.perf_counter()
            for _ in range(args.steps):
                step(state)
            times[name].append((time.perf_counter() - started) / args.steps * 1000)
    # a shared machine's slow spells move every configuration of a round alike: the ratio to plain *within*
    # each round (its median over rounds) is steadier than a ratio of medians; the fastest round shows the floor
    rows = [{"config": name, "ms_per_step": round(statistics.median(t), 2), "best_ms": round(min(t), 2),
             "ratio": round(statistics.median(x / p for x, p in zip(t, times["plain"], strict=True)), 3),
             "best_ratio": round(min(t) / min(times["plain"]), 3), "rounds_ms": [round(x, 2) for x in t]}
            for name, t in times.items()]
    print(f"dcgan widths 32, digits 32x32, batch 64, bf16 + channels_last, {args.threads} threads, "
          f"{args.rounds} rounds x {args.steps} steps")
    print(f"{'config':<20} {'median ms':>10} {'best ms':>8} {'x plain (paired median)':>24} {'x plain (best)':>15}")
    for row in rows:
        print(f"{row['config']:<20} {row['ms_per_step']:>10.2f} {row['best_ms']:>8.2f} {row['ratio']:>24.3f} "
              f"{row['best_ratio']:>15.3f}")
    if args.json_out:
        info = {"torch": torch.__version__, "python": platform.python_version(), "threads": args.threads,
                "rounds": args.rounds, "steps": args.steps, "setup": BASE, "configs": CONFIGS}
        args.json_out.write_text(json.dumps({"setup": info, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

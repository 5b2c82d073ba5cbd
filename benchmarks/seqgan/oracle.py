"""SeqGAN's synthetic-oracle experiment (Yu et al. 2017, Table 1) on this machine.

For each seed: train ``seqgan`` on the ``oracle`` dataset (same oracle for every seed), then
score NLL-oracle (10,000 samples) and NLL-test of the untrained generator, of G after MLE
pre-training and of G after adversarial training. Appends one JSON line per seed to the results file and prints a summary.

    flock /tmp/ganzoo-heavy.lock .venv/bin/python benchmarks/seqgan/oracle.py --seeds 0 1 2
    .venv/bin/python benchmarks/seqgan/oracle.py --summary     # the table again, from the results file

Extra options go to the trainer: ``--set steps=30`` etc. (same keys as ``ganzoo train --set``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import ganzoo
from ganzoo.config import parse_set_options
from ganzoo.configure import resolve_run
from ganzoo.metrics.base import EvalContext, evaluate
from ganzoo.plugins import get_registry
from ganzoo.sampling import load_run
from ganzoo.storage.rundir import RunDir
from ganzoo.trainer.setup import prepare_state

HERE = Path(__file__).resolve().parent
CPU_RUN = {"dataset": "oracle", "schedule": "cpu", "device": "cpu", "precision": "bf16", "checkpoint_every": 0,
           "keep_checkpoints": 10}


def score(generator: torch.nn.Module, run: Path, config: dict[str, Any], info, samples: int) -> dict[str, float]:
    """NLL-oracle and NLL-test of one generator (evaluation seed 0, as for every stage)."""
    registry = get_registry()
    metrics = [registry.metric("nll-oracle"), registry.metric("nll-test")]
    ctx = EvalContext(generator, config, info, run, [m.name for m in metrics], num_samples=samples, batch_size=1000,
                      registry=get_registry())
    return evaluate(ctx, metrics).scores


def run_seed(seed: int, out: Path, options: dict[str, Any], samples: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = ganzoo.train("seqgan", out=out, overwrite=True, progress=False, seed=seed, **options)
    train_seconds = time.perf_counter() - started
    config = RunDir(out).read_config()["config"]
    registry = get_registry()
    spec, resolved = resolve_run(registry, "seqgan", config)
    untrained = prepare_state(registry, spec, resolved)  # same seed, same init as the run's G
    info = untrained.data.info
    phases = spec.schedule(resolved)
    mle_end = phases[0].steps
    adversarial_begin = mle_end + phases[1].steps
    stages = {"untrained": score(untrained.generator.eval(), out, resolved, info, samples)}
    curve = []
    for step, path in RunDir(out).checkpoints():
        if step == mle_end or step == result.step:
            scores = score(load_run(path).generator, out, resolved, info, samples)
            curve.append({"step": step, "round": max(0, step - adversarial_begin), **scores})
            if step == mle_end:
                stages["mle"] = scores
    stages["seqgan"] = {k: v for k, v in curve[-1].items() if k not in ("step", "round")}
    return {
        "seed": seed, "run": str(out), "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1), "eval_samples": samples,
        "schedule": {k: resolved[k] for k in ("schedule", "mle_epochs", "d_pretrain_rounds", "d_negatives", "d_epochs",
                                              "steps", "d_steps", "g_steps", "rollouts", "rollout_rate", "batch_size",
                                              "precision")},
        "phase_steps": {p.name: p.steps for p in phases},
        "stages": stages, "adversarial_curve": curve, "final_step": result.step,
        "torch_threads": torch.get_num_threads(),
    }


def summary(records: list[dict[str, Any]]) -> str:
    lines = ["seed  untrained  MLE     SeqGAN  (NLL-oracle, nats/token)  minutes"]
    for r in records:
        s = r["stages"]
        lines.append(f"{r['seed']:<5} {s['untrained']['nll_oracle']:.3f}     {s['mle']['nll_oracle']:.3f}   "
                     f"{s['seqgan']['nll_oracle']:.3f}                            {r['total_seconds'] / 60:.1f}")
    if len(records) > 1:
        for stage in ("untrained", "mle", "seqgan"):
            values = [r["stages"][stage]["nll_oracle"] for r in records]
            lines.append(f"{stage}: mean {statistics.mean(values):.3f}, std {statistics.stdev(values):.3f}, "
                         f"spread (max-min) {max(values) - min(values):.3f}")
        gains = [r["stages"]["mle"]["nll_oracle"] - r["stages"]["seqgan"]["nll_oracle"] for r in records]
        lines.append(f"MLE - SeqGAN per seed: {', '.join(f'{g:.3f}' for g in gains)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=Path("runs/bench-seqgan-oracle"))
    parser.add_argument("--results", type=Path, default=HERE / "results" / "oracle.jsonl")
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--set", dest="set_items", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--summary", action="store_true", help="only print the summary of the results file")
    args = parser.parse_args()
    if args.summary:
        lines = args.results.read_text(encoding="utf-8").splitlines()
        print(summary([json.loads(line) for line in lines if line.strip()]))
        return
    options = {**CPU_RUN, **parse_set_options(args.set_items)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for seed in args.seeds:
        record = run_seed(seed, args.runs / f"seed{seed}", options, args.eval_samples)
        records.append(record)
        with args.results.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
        print(json.dumps({k: record[k] for k in ("seed", "stages", "total_seconds")}), flush=True)
    print(summary(records))


if __name__ == "__main__":
    main()

"""SeqGAN on real text: COCO captions (the Texygen benchmark's image_coco.txt / image_coco_test.txt).

Trains ``seqgan`` on the ``text`` dataset, then scores G after MLE pre-training and after
adversarial training: BLEU-2..5 against the held-out file, self-BLEU-2..5 and NLL-test, and
keeps 10 sampled sentences of each. Writes one JSON object to the results file.

    flock /tmp/ganzoo-heavy.lock .venv/bin/python benchmarks/seqgan/coco.py \\
        --data-root ../shared/data/coco_captions/image_coco.txt
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

import ganzoo
from ganzoo.config import parse_set_options
from ganzoo.metrics.base import EvalContext, evaluate
from ganzoo.plugins import get_registry
from ganzoo.render import decode_tokens
from ganzoo.sampling import load_run
from ganzoo.storage.rundir import RunDir

HERE = Path(__file__).resolve().parent
# the cpu schedule, shortened: sequences here are 38 tokens (20 on the oracle), so an epoch
# costs about twice as much and a round of rollouts almost four times as much
CPU_RUN = {"dataset": "text", "schedule": "cpu", "device": "cpu", "precision": "bf16", "mle_epochs": 6,
           "d_pretrain_rounds": 3, "steps": 5, "checkpoint_every": 0, "keep_checkpoints": 10}


def score(path: Path, run: Path, samples: int) -> dict[str, Any]:
    loaded = load_run(path)
    registry = get_registry()
    metrics = [registry.metric("bleu"), registry.metric("nll-test")]
    ctx = EvalContext(loaded.generator, loaded.config, loaded.data_info, run, [m.name for m in metrics],
                      num_samples=samples, batch_size=500, registry=get_registry())
    report = evaluate(ctx, metrics, step=loaded.step)
    with torch.no_grad():
        sentences = decode_tokens(loaded.generator.sample(10, generator=torch.Generator().manual_seed(1)), loaded.data_info)
    return {"step": loaded.step, "scores": report.scores, "protocol": report.protocols, "sentences": sentences}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="training file; its _test twin is held out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/bench-seqgan-coco"))
    parser.add_argument("--results", type=Path, default=HERE / "results" / "coco.json")
    parser.add_argument("--eval-samples", type=int, default=2000, help="generated sentences scored by BLEU")
    parser.add_argument("--set", dest="set_items", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    options = {**CPU_RUN, **parse_set_options(args.set_items)}
    started = time.perf_counter()
    ganzoo.train("seqgan", out=args.out, overwrite=True, progress=False, seed=args.seed, data_root=args.data_root,
                 **options)
    train_seconds = time.perf_counter() - started
    config = RunDir(args.out).read_config()
    spec = get_registry().model("seqgan")
    mle_end = spec.schedule(config["config"])[0].steps
    stages = {}
    for step, path in RunDir(args.out).checkpoints():
        if step == mle_end:
            stages["mle"] = score(path, args.out, args.eval_samples)
    stages["seqgan"] = score(RunDir(args.out).latest_checkpoint(), args.out, args.eval_samples)
    record = {"seed": args.seed, "run": str(args.out), "train_seconds": round(train_seconds, 1),
              "total_seconds": round(time.perf_counter() - started, 1),
              "sequence_length": config["data_info"]["shape"][0],
              "vocab_size": config["data_info"]["extras"]["vocab_size"],
              "options": options, "stages": stages}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for stage, data in stages.items():
        scores = data["scores"]
        print(f"{stage}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(scores.items())))
        for line in data["sentences"]:
            print("   ", line)


if __name__ == "__main__":
    main()

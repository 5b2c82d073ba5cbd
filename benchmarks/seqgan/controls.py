"""Controls for the oracle experiment: where does SeqGAN's NLL-oracle gain come from?

From the same MLE pre-training as ``oracle.py``'s run of a seed (same seed, same code: the
same weights), continue three ways for the adversarial phase's number of rounds and score
NLL-oracle / NLL-test with the same protocol:

- ``mle_more``: more MLE epochs (as many as the adversarial rounds) instead of the adversarial phase;
- ``pg_constant_reward``: SeqGAN's policy-gradient steps (same optimiser, batch, clipping) with every
  reward fixed at 0.5, i.e. without any signal from D or the rollouts.

    .venv/bin/python benchmarks/seqgan/controls.py --seed 0
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from ganzoo.configure import resolve_run
from ganzoo.plugins import get_registry
from ganzoo.trainer.setup import prepare_state
from ganzoo_seqgan import training

HERE = Path(__file__).resolve().parent


def score(state, samples: int) -> dict[str, float]:
    from ganzoo.metrics.base import EvalContext, evaluate

    registry = get_registry()
    metrics = [registry.metric("nll-oracle"), registry.metric("nll-test")]
    ctx = EvalContext(state.generator, state.config, state.data.info, None, [m.name for m in metrics],
                      num_samples=samples, batch_size=1000, registry=get_registry())
    return evaluate(ctx, metrics).scores


def constant_reward_steps(state, rounds: int) -> None:
    G = state.generator
    for _ in range(rounds):
        samples = training.negatives(G, state.batch_size, state.batch_size)
        rewards = torch.full(samples.shape, 0.5)
        loss = training.policy_gradient_loss(G, samples, rewards)
        state.optimize(loss, "generator_pg", clip_grad_norm=state.config["grad_clip"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--results", type=Path, default=HERE / "results" / "controls.jsonl")
    args = parser.parse_args()
    started = time.perf_counter()
    registry = get_registry()
    spec, config = resolve_run(registry, "seqgan", {"dataset": "oracle", "schedule": "cpu", "device": "cpu",
                                                 "precision": "bf16", "seed": args.seed})
    plan = training.resolved_schedule(config)
    state = prepare_state(registry, spec, config)
    for _ in range(plan["mle_epochs"]):
        training.mle_epoch(state)
    results = {"mle": score(state, args.eval_samples)}
    pg_state = copy.copy(state)
    pg_state.generator = copy.deepcopy(state.generator)
    pg_state.optimizers = {"generator_pg": torch.optim.Adam(pg_state.generator.parameters(), lr=config["lr_g"],
                                                            betas=tuple(config["betas"]))}
    constant_reward_steps(pg_state, plan["steps"] * int(config["g_steps"]))
    results["pg_constant_reward"] = score(pg_state, args.eval_samples)
    for _ in range(plan["steps"]):
        training.mle_epoch(state)
    results["mle_more"] = score(state, args.eval_samples)
    record = {"seed": args.seed, "rounds": plan["steps"], "mle_epochs": plan["mle_epochs"], "stages": results,
              "seconds": round(time.perf_counter() - started, 1)}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

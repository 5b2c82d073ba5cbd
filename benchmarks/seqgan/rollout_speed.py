"""Monte Carlo rollout rewards for one batch at the oracle's sizes, before and after, side by side.

Builds G (vocabulary 5,000, length 20, embedding and hidden 32) and D (the paper's windows and
filters, embedding 64) with fixed random weights, then times, interleaved in one process,

- ``baseline``: the reward computation as it was (kept below as a faithful copy: one rollout
  call per prefix length, one LSTM step per token, one D call per prefix length);
- ``new``: ``ganzoo_seqgan.training.rollout_rewards`` (all prefixes advance together, D scores
  every completion in one call from per-token projection tables), D in fp32;
- ``new-bf16``: the same with D under bfloat16 autocast (what ``--precision bf16`` does).

Every repeat reseeds torch before each variant, so all three see the same uniforms; the script
reports the largest reward difference of ``new`` and ``new-bf16`` from ``baseline``.

    .venv/bin/python benchmarks/seqgan/rollout_speed.py               # 2 threads, 5 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import Tensor

from ganzoo_seqgan.models import PAPER_FILTERS, PAPER_WINDOWS, CNNDiscriminator, LSTMGenerator
from ganzoo_seqgan.training import rollout_rewards

HERE = Path(__file__).resolve().parent


def baseline_draw_tokens(logits: Tensor) -> Tensor:
    """The old sampler: one uniform per row, the CDF over the whole vocabulary."""
    u = torch.rand(logits.shape[0], 1)
    weights = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
    cdf = weights.cumsum_(dim=1)
    tokens = torch.searchsorted(cdf, u * cdf[:, -1:]).squeeze(1)
    return tokens.clamp_(max=logits.shape[1] - 1)


def baseline_continue_from(G: LSTMGenerator, prefix: Tensor, state: tuple[Tensor, Tensor]) -> Tensor:
    """The old ``continue_from``: one LSTM step and one draw per remaining position."""
    n, given = prefix.shape
    tokens = [prefix[:, i] for i in range(given)]
    last = prefix[:, -1]
    for _ in range(given, G.length):
        logits, state = G.step(last, state)
        last = baseline_draw_tokens(logits)
        tokens.append(last)
    return G.force_padding(torch.stack(tokens, dim=1))


@torch.no_grad()
def baseline_rewards(G: LSTMGenerator, D: CNNDiscriminator, samples: Tensor, rollouts: int,
                     autocast: Callable = nullcontext) -> Tensor:
    """The old ``rollout_rewards``: per prefix length t, roll out n * rollouts sequences and call D."""
    n, length = samples.shape
    states = G.prefix_states(samples)
    rewards = torch.empty(n, length)
    for t in range(1, length):
        h, c = states[t - 1]
        state = (h.repeat_interleave(rollouts, dim=1), c.repeat_interleave(rollouts, dim=1))
        prefix = samples[:, :t].repeat_interleave(rollouts, dim=0)
        completed = baseline_continue_from(G, prefix, state)
        with autocast():
            probs = torch.sigmoid(D(completed).float()).view(n, rollouts)
        rewards[:, t - 1] = probs.mean(dim=1)
    with autocast():
        rewards[:, length - 1] = torch.sigmoid(D(samples).float())
    return rewards


def bf16() -> torch.autocast:
    return torch.autocast("cpu", dtype=torch.bfloat16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rollouts", type=int, default=16)
    parser.add_argument("--vocab", type=int, default=5000)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--results", type=Path, default=HERE / "results" / "rollout_speed.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    G = LSTMGenerator(args.vocab, args.length, 32, 32).eval()
    D = CNNDiscriminator(args.vocab, args.length, 64, PAPER_WINDOWS, PAPER_FILTERS, 0.25).eval()
    with torch.no_grad():
        samples = G.sample(args.batch, generator=torch.Generator().manual_seed(1))
    variants: dict[str, Callable[[int], Tensor]] = {
        "baseline": lambda seed: baseline_rewards(G, D, samples, args.rollouts),
        "new": lambda seed: rollout_rewards(G, D, samples, args.rollouts),
        "new-bf16": lambda seed: rollout_rewards(G, D, samples, args.rollouts, bf16),
    }
    load_before = os.getloadavg()
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    diffs: dict[str, float] = {"new": 0.0, "new-bf16": 0.0}
    for repeat in range(args.repeats + 1):  # the first round warms up and is not counted
        rewards = {}
        for name, run in variants.items():
            torch.manual_seed(100 + repeat)
            started = time.perf_counter()
            rewards[name] = run(repeat)
            if repeat:
                seconds[name].append(time.perf_counter() - started)
        for name in diffs:
            diffs[name] = max(diffs[name], float((rewards[name] - rewards["baseline"]).abs().max()))
        print(f"repeat {repeat}: " + "  ".join(f"{n} {s[-1]:.2f} s" for n, s in seconds.items() if s), flush=True)
    load_after = os.getloadavg()
    rewards_per_batch = args.batch * args.length
    summary = {}
    for name, times in seconds.items():
        median = statistics.median(times)
        summary[name] = {"seconds_per_batch": times, "median_s": median, "rewards_per_s": rewards_per_batch / median,
                         "speedup_vs_baseline": statistics.median(seconds["baseline"]) / median}
    print(f"\n{'variant':<10} {'median s/batch':>15} {'rewards/s':>10} {'speed-up':>9}  max |reward - baseline|")
    for name, row in summary.items():
        diff = f"{diffs[name]:.2e}" if name in diffs else "-"
        print(f"{name:<10} {row['median_s']:>15.3f} {row['rewards_per_s']:>10.0f} {row['speedup_vs_baseline']:>8.2f}x  {diff}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    result = {
        "sizes": {"batch": args.batch, "rollouts": args.rollouts, "vocab": args.vocab, "length": args.length},
        "threads": args.threads, "repeats": args.repeats, "rewards_per_batch": rewards_per_batch,
        "variants": summary, "max_abs_reward_diff_vs_baseline": diffs,
        "loadavg_1min_before_after": [load_before[0], load_after[0]],
        "torch": torch.__version__, "python": platform.python_version(),
        "when_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()

"""Why SeqGAN's discriminator cannot tell the oracle's sequences from G's at the CPU schedule: named diagnostics.

From one seed's MLE pre-training (the CPU schedule's 10 epochs; the same weights as ``oracle.py``'s run),
D is pre-trained as SeqGAN does (rounds of fresh negatives, then epochs of D over them and as many real
sequences) in six variants, and after every round its accuracy is measured on 1,000 held-out real
sequences (the oracle's test split, never trained on) against 1,000 fresh generated ones:

- ``cpu``: the CPU schedule (5 rounds of 1,000 negatives, 1 epoch, Adam at 1e-4);
- ``capacity4x``: four times the filters of every window width;
- ``lr10x``: Adam at 1e-3;
- ``negatives5x``: 5,000 negatives per round;
- ``pretrain5x``: 25 rounds;
- ``paper_budget``: the paper's D budget per round on this G (10,000 negatives, 3 epochs), for 5 rounds;
- ``fresh_reals``: ``paper_budget``'s first 3 rounds with every real batch drawn fresh from the oracle instead of
  from the 10,000 training sequences: whether D is short of real data rather than of updates.

Besides accuracy at threshold 0.5, each round records the AUC (the chance that D believes a random real sequence
more than a random generated one), which does not move with D's calibration, and both again with 1,000 of the
real sequences D trains on in place of the held-out ones (``train_accuracy``, ``train_auc``): a D that separates
those but not held-out ones memorises its training set instead of learning the oracle.

Before any of them, a format check: real and generated sequences must reach D in the same form (shape,
dtype, token range, end and padding tokens, where each sequence ends).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/seqgan/d_diagnostics.py --seed 0
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/seqgan/d_diagnostics.py --mle-epochs 1 \
        --text ../shared/data/coco_captions/image_coco.txt --results benchmarks/seqgan/results/d_forms_coco.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from ganzoo.configure import resolve_run
from ganzoo.data.loading import load_data
from ganzoo.plugins import get_registry
from ganzoo.trainer.setup import prepare_state
from ganzoo_seqgan import training
from ganzoo_seqgan.models import PAPER_FILTERS
from ganzoo_seqgan.oracle import oracle_from_tensors

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "cpu": {},
    "capacity4x": {"capacity": 4},
    "lr10x": {"lr_d": 1e-3},
    "negatives5x": {"d_negatives": 5_000},
    "pretrain5x": {"d_pretrain_rounds": 25},
    "paper_budget": {"d_negatives": 10_000, "d_epochs": 3},
    "fresh_reals": {"d_negatives": 10_000, "d_epochs": 3, "d_pretrain_rounds": 3, "fresh_reals": True},
}
PROBE = 1_000


def form(tokens: torch.Tensor, end: int | None, pad: int | None, start: int | None) -> dict[str, object]:
    """What D sees of a batch of sequences: shape, dtype, token range, end/pad use, where sequences end."""
    facts: dict[str, object] = {"shape": list(tokens.shape[1:]), "dtype": str(tokens.dtype),
                                "min_token": int(tokens.min()), "max_token": int(tokens.max())}
    if end is not None:
        has_end = (tokens == end).any(1)
        first = torch.where(has_end, (tokens == end).int().argmax(1), torch.full_like(has_end, tokens.shape[1],
                                                                                        dtype=torch.long))
        facts["share_with_end"] = float(has_end.float().mean())
        facts["mean_length"] = float(first.float().mean())
    if pad is not None:
        facts["share_pad_tokens"] = float((tokens == pad).float().mean())
        if end is not None:  # padding exactly after the end token, nowhere else
            after_end = torch.arange(tokens.shape[1]).unsqueeze(0) > first.unsqueeze(1)
            facts["share_misplaced_pad"] = float(((tokens == pad) != after_end).any(1).float().mean())
    if start is not None:
        facts["share_with_start"] = float((tokens == start).any(1).float().mean())
    return facts


@torch.no_grad()
def accuracy(D, real: torch.Tensor, fake: torch.Tensor, train_real: torch.Tensor) -> dict[str, float]:
    """D's accuracy at threshold 0.5 on held-out real and fresh generated sequences, its mean beliefs, and its
    accuracy with real sequences it trains on in place of the held-out ones."""
    was = D.training
    D.eval()
    p_real, p_fake, p_train = (torch.sigmoid(D.score(x).float()) for x in (real, fake, train_real))
    D.train(was)
    fake_right = (p_fake <= 0.5).float().sum()
    return {"accuracy": float(((p_real > 0.5).float().sum() + fake_right) / (len(real) + len(fake))),
            "auc": auc(p_real, p_fake), "d_real": float(p_real.mean()), "d_fake": float(p_fake.mean()),
            "train_accuracy": float(((p_train > 0.5).float().sum() + fake_right) / (len(train_real) + len(fake))),
            "train_auc": auc(p_train, p_fake)}


def auc(p_real: torch.Tensor, p_fake: torch.Tensor) -> float:
    """The chance that D believes a random real sequence more than a random generated one (0.5: no separation).
    Unlike accuracy at 0.5 it does not depend on D's calibration, which drifts as D trains."""
    ranks = torch.cat([p_real, p_fake]).double().argsort().argsort().double() + 1
    n_real, n_fake = len(p_real), len(p_fake)
    return float((ranks[:n_real].sum() - n_real * (n_real + 1) / 2) / (n_real * n_fake))


def fresh_real_batches(state) -> None:
    """Make the state's real batches fresh samples of the oracle (unlimited real data) instead of the training set."""
    oracle = oracle_from_tensors(state.data.artifacts(), state.data.info).eval().requires_grad_(False)

    @torch.no_grad()
    def fresh() -> SimpleNamespace:
        return SimpleNamespace(x=oracle.sample(state.batch_size))

    state.next_batch = fresh


def run_variant(name: str, changes: dict, base_options: dict, mle_state: dict, probe_real: torch.Tensor,
                train_real: torch.Tensor, seed: int) -> dict[str, object]:
    registry = get_registry()
    options = dict(base_options)
    capacity = changes.get("capacity", 1)
    if capacity != 1:
        options["d_filters"] = [f * capacity for f in PAPER_FILTERS]
    options.update({k: v for k, v in changes.items() if k in ("lr_d", "d_negatives", "d_epochs", "d_pretrain_rounds")})
    spec, config = resolve_run(registry, "seqgan", options)
    state = prepare_state(registry, spec, config)
    state.generator.load_state_dict(mle_state)
    if changes.get("fresh_reals"):
        fresh_real_batches(state)
    plan = training.resolved_schedule(config)
    torch.manual_seed(seed + 1)
    probe_fake = training.negatives(state.generator, PROBE)
    rounds = [{"round": 0, **accuracy(state.discriminator, probe_real, probe_fake, train_real)}]
    started = time.perf_counter()
    for r in range(plan["d_pretrain_rounds"]):
        logs = training.train_discriminator(state, plan["d_negatives"], plan["d_epochs"])
        rounds.append({"round": r + 1, "train_loss": float(logs["loss_d"]),
                       **accuracy(state.discriminator, probe_real, probe_fake, train_real)})
        last = rounds[-1]
        print(f"{name:13s} round {r + 1:2d}: accuracy {last['accuracy']:.3f}, AUC {last['auc']:.3f} (D real "
              f"{last['d_real']:.3f}, fake {last['d_fake']:.3f}; its training reals: accuracy "
              f"{last['train_accuracy']:.3f}, AUC {last['train_auc']:.3f})", flush=True)
    updates = plan["d_pretrain_rounds"] * plan["d_epochs"] * max(1, plan["d_negatives"] // config["batch_size"])
    return {"variant": name, "changes": changes, "d_updates": updates,
            "d_parameters": sum(p.numel() for p in state.discriminator.parameters()),
            "lr_d": config["lr_d"], "rounds": rounds, "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    parser.add_argument("--results", type=Path, default=HERE / "results" / "d_diagnostics.json")
    parser.add_argument("--text", type=Path, default=None,
                        help="a text file (its _test twin held out): only the format check, after --mle-epochs of MLE")
    parser.add_argument("--mle-epochs", type=int, default=None, help="default: the CPU schedule's 10")
    args = parser.parse_args()
    registry = get_registry()
    base = {"dataset": "oracle", "schedule": "cpu", "device": "cpu", "seed": args.seed}
    if args.text:
        base.update(dataset="text", data_root=str(args.text))
    if args.mle_epochs is not None:
        base["mle_epochs"] = args.mle_epochs
    spec, config = resolve_run(registry, "seqgan", base)
    state = prepare_state(registry, spec, config)
    started = time.perf_counter()
    for _ in range(training.resolved_schedule(config)["mle_epochs"]):
        training.mle_epoch(state)
    mle_seconds = time.perf_counter() - started
    mle_state = copy.deepcopy(state.generator.state_dict())
    info = state.data.info.extras
    end, pad, start = info.get("end_token"), info.get("pad_token"), info.get("start_token")
    probe_real = next(iter(load_data(registry, config, split="test").iterate(PROBE))).x
    fresh = training.negatives(state.generator, PROBE)
    train_real = torch.cat([state.next_batch().x for _ in range(PROBE // config["batch_size"] + 1)])[:PROBE]
    forms = {"train_real": form(train_real, end, pad, start), "heldout_real": form(probe_real, end, pad, start),
             "generated": form(fresh, end, pad, start)}
    same_form = forms["train_real"]["shape"] == forms["generated"]["shape"] and \
        forms["train_real"]["dtype"] == forms["generated"]["dtype"]
    print(json.dumps(forms, indent=1))
    if args.text:
        args.results.write_text(json.dumps({"data": str(args.text), "mle_epochs": training.resolved_schedule(config)[
            "mle_epochs"], "forms": forms, "same_form": same_form}, indent=1) + "\n", encoding="utf-8")
        return
    results = {"seed": args.seed, "mle_seconds": round(mle_seconds, 1), "forms": forms, "same_form": same_form,
               "probe": {"real": "oracle test split", "fake": "fresh samples of the MLE G", "each": PROBE},
               "variants": []}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for name in args.variants.split(","):  # written after each variant: a long run keeps what it measured
        results["variants"].append(run_variant(name, VARIANTS[name], base, mle_state, probe_real, train_real, args.seed))
        args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    for v in results["variants"]:
        last = v["rounds"][-1]
        print(f"{v['variant']:13s} {v['d_updates']:5d} D updates, {v['d_parameters']:8d} parameters: accuracy "
              f"{last['accuracy']:.3f}, AUC {last['auc']:.3f} (training reals {last['train_auc']:.3f}), {v['seconds']} s")


if __name__ == "__main__":
    main()

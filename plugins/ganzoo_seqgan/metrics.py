"""Scores of sequence generators: NLL-oracle, NLL-test, BLEU-2..5 and self-BLEU.

- ``nll-oracle`` (Yu et al. 2017, Table 1): mean per-token negative log-likelihood, under the
  run's oracle, of sequences G generates. Lower means G's samples are likelier under the truth.
- ``nll-test``: G's mean per-token negative log-likelihood of the held-out split (coverage).
- ``bleu``: mean sentence BLEU-2..5 of generated sentences against every held-out sentence,
  and self-BLEU-2..5 of the generated sentences against each other (lower is more diverse).
- ``distinct``: distinct-1..4 (Li et al. 2016), the share of all n-grams of the generated sequences
  that are unique: the cheapest diversity score, defined on the oracle too (higher is more diverse).

At an evaluation temperature t (``ganzoo eval --temperature``) every score is of the distribution
G samples at t: sequences are drawn from softmax(logits / t), and nll-test is the NLL of the
held-out data under that same tempered distribution (the coverage axis of a temperature sweep;
the oracle itself stays at 1, being the truth). The temperature is recorded with the scores, not
in their protocols, so scores at different temperatures rank in one table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from ganzoo.plugin import EvalContext, MetricResult, MetricSpec, decode_tokens
from ganzoo_seqgan.models import LSTMGenerator
from ganzoo_seqgan.oracle import oracle_from_tensors

BLEU_ORDERS = (2, 3, 4, 5)
DEFAULT_BLEU_SAMPLES = 2000


def generated(ctx: EvalContext, n: int) -> torch.Tensor:
    """n sequences from the generator at the evaluation's temperature, reproducible from the evaluation seed."""
    gen = torch.Generator().manual_seed(int(ctx.seed))
    keywords = ctx.sample_keywords()
    parts = [ctx.generator.sample(min(ctx.batch_size, n - done), generator=gen, **keywords)
             for done in range(0, n, ctx.batch_size)]
    return torch.cat(parts)


def held_out_split(ctx: EvalContext) -> str:
    """The split scored against: ``--reference-split`` when given, else 'test'."""
    return ctx.options.get("reference_split") or "test"


def tokens_protocol(ctx: EvalContext) -> dict[str, object]:
    """How the scored sentences became tokens, for data made from text (its tokenizer, length and vocabulary):
    BLEU and n-gram counts depend on it, so it belongs in the protocol. Empty for data that is born as tokens."""
    info = ctx.data_info
    if "tokenizer" not in info.extras:
        return {}
    return {"tokenizer": info.extras["tokenizer"], "max_length": info.shape[0], "vocab_size": info.extras["vocab_size"]}


def full_precision(compute: Callable[[EvalContext], MetricResult]) -> Callable[[EvalContext], MetricResult]:
    """Run a metric in fp32 even inside a bf16 training run's autocast (scores must not depend on it)."""

    @functools.wraps(compute)
    def wrapped(ctx: EvalContext) -> MetricResult:
        with torch.autocast(ctx.device.type, enabled=False):
            return compute(ctx)

    return wrapped


@full_precision
def nll_oracle(ctx: EvalContext) -> MetricResult:
    oracle = oracle_from_tensors(ctx.data_artifacts(), ctx.data_info).to(ctx.device)
    total, tokens = 0.0, 0
    samples = generated(ctx, ctx.num_samples)
    for chunk in samples.split(ctx.batch_size):
        total += float(-oracle.token_log_probs(chunk.to(ctx.device)).double().sum())
        tokens += chunk.numel()
    protocol = {"samples": ctx.num_samples, "seed": ctx.seed, "oracle": dict(ctx.data_info.extras["oracle"]),
                "unit": "nats per token"}
    return MetricResult({"nll_oracle": total / tokens}, protocol)


@full_precision
def nll_test(ctx: EvalContext) -> MetricResult:
    G: LSTMGenerator = ctx.generator  # type: ignore[assignment]
    split = held_out_split(ctx)
    total, tokens = 0.0, 0
    for batch in ctx.real_data(split).iterate(ctx.batch_size, device=ctx.device):
        total += float(-G.token_log_probs(batch.x, ctx.temperature).double().sum())
        tokens += int(G.free_positions(batch.x).sum())
    return MetricResult({"nll_test": total / max(tokens, 1)},
                        {"split": split, "tokens": tokens, "unit": "nats per token", **tokens_protocol(ctx)})


@full_precision
def bleu_scores(ctx: EvalContext) -> MetricResult:
    from ganzoo_seqgan import bleu as bleu_lib  # NLTK (with scipy, scikit-learn) costs a second: not when registering

    n = int(ctx.options.get("bleu_samples", min(ctx.num_samples, DEFAULT_BLEU_SAMPLES)))
    split = held_out_split(ctx)
    info = ctx.data_info
    hypotheses = [line.split() for line in decode_tokens(generated(ctx, n), info)]
    real = ctx.real_data(split)
    references = [line.split() for batch in real.iterate(1000) for line in decode_tokens(batch.x, info)]
    scores = {f"bleu{k}": v for k, v in bleu_lib.bleu(hypotheses, references, BLEU_ORDERS).items()}
    scores.update({f"self_bleu{k}": v for k, v in bleu_lib.self_bleu(hypotheses, BLEU_ORDERS).items()})
    protocol = {"hypotheses": n, "references": len(references), "reference_split": split, "seed": ctx.seed,
                "average": "mean sentence BLEU", "smoothing": bleu_lib.SMOOTHING,
                "self_bleu": "each hypothesis against the other hypotheses", **tokens_protocol(ctx)}
    return MetricResult(scores, protocol)


DISTINCT_ORDERS = (1, 2, 3, 4)


def distinct_ngrams(lines: list[list[str]], n: int) -> float:
    """Unique n-grams over all n-grams of the sequences (0 when they hold none)."""
    grams = [tuple(words[i:i + n]) for words in lines for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


@full_precision
def distinct_scores(ctx: EvalContext) -> MetricResult:
    n = int(ctx.options.get("bleu_samples", min(ctx.num_samples, DEFAULT_BLEU_SAMPLES)))
    lines = [line.split() for line in decode_tokens(generated(ctx, n), ctx.data_info)]
    scores = {f"distinct{k}": distinct_ngrams(lines, k) for k in DISTINCT_ORDERS}
    return MetricResult(scores, {"samples": n, "seed": ctx.seed, "unit": "unique / all n-grams, sequences cut at the "
                                                                          "end token", **tokens_protocol(ctx)})


METRICS = (
    MetricSpec("nll-oracle", "mean per-token NLL of generated sequences under the synthetic oracle (SeqGAN Table 1)",
               ("sequence",), nll_oracle, {"nll_oracle": "lower"}, needs=("oracle",)),
    MetricSpec("nll-test", "the generator's mean per-token NLL of the held-out sequences", ("sequence",), nll_test,
               {"nll_test": "lower"}),
    MetricSpec("bleu", "BLEU-2..5 of generated sentences against the held-out ones, and self-BLEU-2..5",
               ("sequence",), bleu_scores,
               {**{f"bleu{k}": "higher" for k in BLEU_ORDERS}, **{f"self_bleu{k}": "lower" for k in BLEU_ORDERS}},
               needs=("vocab",)),
    MetricSpec("distinct", "distinct-1..4: unique n-grams over all n-grams of generated sequences (diversity)",
               ("sequence",), distinct_scores, {f"distinct{k}": "higher" for k in DISTINCT_ORDERS}),
)

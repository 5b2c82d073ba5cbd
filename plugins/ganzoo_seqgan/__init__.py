"""ganzoo plugin: SeqGAN (Yu et al. 2017), sequence generation by policy gradient.

Registers the ``seqgan`` model and its baseline ``mle`` (the same generator trained by maximum likelihood
alone), the ``oracle`` and ``text`` datasets, and the ``nll-oracle``, ``nll-test``, ``bleu`` and ``distinct``
metrics. Schedules: ``schedule=cpu`` (default, fits 2 CPU cores) and
``schedule=paper`` (the reference code's full schedule, for GPUs); see docs/seqgan.md.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import DatasetSpec, ModelSpec, Option, hookimpl
from ganzoo_seqgan import oracle, text
from ganzoo_seqgan.metrics import METRICS
from ganzoo_seqgan.models import PAPER_FILTERS, PAPER_WINDOWS, build_discriminator, build_generator
from ganzoo_seqgan.training import SCHEDULES, build_extras, build_optimizers, make_phases, mle_step

FROM_SCHEDULE = "(default: the schedule's)"

SPEC = ModelSpec(
    name="seqgan",
    description="LSTM generator trained by policy gradient with a CNN discriminator's rewards (Monte Carlo rollouts)",
    paper="Yu, Zhang, Wang & Yu 2017, SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient (AAAI)",
    modality="sequence",
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    phases=make_phases,
    build_extras=build_extras,
    build_optimizers=build_optimizers,
    auto_bf16=True,  # D in bf16 scores rollouts 1.5x faster than in fp32 here (docs/seqgan.md); G stays in fp32
    options={
        "emb_dim": Option(32, "G's token embedding size", 1, 4096),
        "hidden_dim": Option(32, "G's LSTM hidden size", 1, 4096),
        "d_emb_dim": Option(64, "D's token embedding size", 1, 4096),
        "d_windows": Option(PAPER_WINDOWS, "widths of D's convolution windows", 1, None),
        "d_filters": Option(PAPER_FILTERS, "filters per window width (as many as d_windows)", 1, None),
        "d_dropout": Option(0.25, "dropout before D's logit", 0.0, 0.95),
        "d_l2": Option(0.2, "L2 weight penalty of D's output layer", 0.0, None),
        "grad_clip": Option(5.0, "G's gradient-norm clip", 0.0, None),
        "schedule": Option("cpu", "named schedule: cpu (fits 2 CPU cores) or paper (the reference code's)",
                           choices=tuple(SCHEDULES)),
        "mle_epochs": Option(None, f"MLE pre-training epochs of G {FROM_SCHEDULE}", 0, None, kind=int),
        "d_pretrain_rounds": Option(None, f"D pre-training rounds {FROM_SCHEDULE}", 0, None, kind=int),
        "d_negatives": Option(None, f"generated sequences per D round {FROM_SCHEDULE}", 1, None, kind=int),
        "d_epochs": Option(None, f"epochs of D over each round's data {FROM_SCHEDULE}", 1, None, kind=int),
        "g_steps": Option(1, "policy-gradient updates of G per adversarial round", 1, None),
        "rollouts": Option(16, "Monte Carlo rollouts per prefix", 1, 1024),
        "rollout_rate": Option(0.8, "share of its own weights the rollout policy keeps when it follows G", 0.0, 1.0),
        "reward_baseline": Option(False, "subtract the batch's mean reward (a variance-reducing baseline)"),
        "constant_reward": Option(None, "the control run: every reward fixed at this value instead of D's (no "
                                  "rollouts; D still trains), which shows what D's signal adds", 0.0, 1.0, kind=float),
    },
    overrides={
        "dataset": "oracle", "batch_size": 64, "lr_g": 0.01, "lr_d": 1e-4, "betas": (0.9, 0.999),
        # None: the adversarial rounds (steps) and D rounds per step (d_steps) come from the schedule
        "steps": None, "d_steps": None,
        "log_every": 1, "sample_every": 0, "checkpoint_every": 10, "num_samples": 20,
    },
)

MLE_MATCHED_UPDATES = 10 * (10_000 // 64) + 12
"""Generator updates of a CPU-schedule SeqGAN run on the oracle: 10 MLE epochs of 156 batches, then 12
policy-gradient updates. The ``mle`` baseline's default, so 'MLE at temperature t' is compared with SeqGAN at
the same number of generator updates (not with SeqGAN's own pre-training)."""

MLE_SPEC = ModelSpec(
    name="mle",
    description="SeqGAN's LSTM generator trained by maximum likelihood alone: the baseline text GANs must beat",
    paper="the MLE baseline of Yu et al. 2017 and of Caccia et al. 2020, Language GANs Falling Short (ICLR), "
          "whose point is to compare it with GANs across sampling temperatures",
    modality="sequence",
    build_generator=build_generator,
    build_discriminator=None,
    train_step=mle_step,
    options={
        "emb_dim": SPEC.options["emb_dim"],
        "hidden_dim": SPEC.options["hidden_dim"],
        "grad_clip": SPEC.options["grad_clip"],
    },
    overrides={
        "dataset": "oracle", "batch_size": 64, "lr_g": 0.01, "betas": (0.9, 0.999), "steps": MLE_MATCHED_UPDATES,
        "log_every": 100, "sample_every": 0, "checkpoint_every": 500, "num_samples": 20,
    },
)

ORACLE_OPTIONS = {
    "oracle_vocab": Option(oracle.DEFAULTS["oracle_vocab"], "vocabulary size of the oracle LSTM", 2, None),
    "oracle_length": Option(oracle.DEFAULTS["oracle_length"], "sequence length", 1, None),
    "oracle_emb_dim": Option(oracle.DEFAULTS["oracle_emb_dim"], "the oracle's embedding size", 1, None),
    "oracle_hidden_dim": Option(oracle.DEFAULTS["oracle_hidden_dim"], "the oracle's LSTM hidden size", 1, None),
    "oracle_seed": Option(oracle.DEFAULTS["oracle_seed"], "seed of the oracle's N(0, 1) parameters", 0, None),
    "oracle_samples": Option(oracle.DEFAULTS["oracle_samples"], "training sequences drawn from the oracle", 1, None),
}
TEXT_OPTIONS = {
    "text_test_file": Option(None, "held-out file (default: FILE_test.EXT beside the training file)", kind=str),
    "text_max_length": Option(None, "longest sequence in tokens, end token included (default: the longest line)",
                              2, None, kind=int),
    "text_min_count": Option(1, "words seen fewer times become <unk>", 1, None),
    "text_vocab_size": Option(None, "keep only this many of the most frequent words; the rest become <unk> "
                              "(default: every word)", 1, None, kind=int),
}


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)
    register(MLE_SPEC)


@hookimpl
def register_datasets(register: Callable) -> None:
    register(DatasetSpec(
        "oracle", "sequences of a random LSTM (SeqGAN's synthetic oracle: vocab 5000, length 20, 10,000 samples)",
        "sequence", oracle.load_oracle, source="synthetic, from oracle_seed", options=ORACLE_OPTIONS,
    ))
    register(DatasetSpec(
        "text", "one sentence per line from --data-root FILE, word-level (held out: FILE_test.EXT)",
        "sequence", text.load_text, source="your file", options=TEXT_OPTIONS, reads_files=True,
    ))


@hookimpl
def register_metrics(register: Callable) -> None:
    for metric in METRICS:
        register(metric)

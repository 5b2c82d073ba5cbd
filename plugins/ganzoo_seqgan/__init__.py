"""ganzoo plugin: SeqGAN (Yu et al. 2017), sequence generation by policy gradient.

Registers the ``seqgan`` model, the ``oracle`` and ``text`` datasets, and the ``nll-oracle``,
``nll-test`` and ``bleu`` metrics. Schedules: ``schedule=cpu`` (default, fits 2 CPU cores) and
``schedule=paper`` (the reference code's full schedule, for GPUs); see docs/seqgan.md.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.hookspecs import hookimpl
from ganzoo.spec import DatasetSpec, ModelSpec
from ganzoo_seqgan import oracle, text
from ganzoo_seqgan.metrics import METRICS
from ganzoo_seqgan.models import PAPER_FILTERS, PAPER_WINDOWS, build_discriminator, build_generator
from ganzoo_seqgan.training import build_extras, build_optimizers, make_phases

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
    defaults={
        "dataset": "oracle",
        "emb_dim": 32,
        "hidden_dim": 32,
        "d_emb_dim": 64,
        "d_windows": PAPER_WINDOWS,
        "d_filters": PAPER_FILTERS,
        "d_dropout": 0.25,
        "d_l2": 0.2,
        "batch_size": 64,
        "lr_g": 0.01,
        "lr_d": 1e-4,
        "betas": (0.9, 0.999),
        "grad_clip": 5.0,
        "schedule": "cpu",
        # None: taken from the schedule (see ganzoo_seqgan.training.SCHEDULES)
        "steps": None,
        "mle_epochs": None,
        "d_pretrain_rounds": None,
        "d_negatives": None,
        "d_epochs": None,
        "d_steps": None,
        "g_steps": 1,
        "rollouts": 16,
        "rollout_rate": 0.8,
        "reward_baseline": False,
        "log_every": 1,
        "sample_every": 0,
        "checkpoint_every": 10,
        "num_samples": 20,
    },
    bounds={
        "emb_dim": (1, 4096), "hidden_dim": (1, 4096), "d_emb_dim": (1, 4096), "d_dropout": (0.0, 0.95),
        "d_l2": (0.0, None), "grad_clip": (0.0, None), "mle_epochs": (0, None), "d_pretrain_rounds": (0, None),
        "d_negatives": (1, None), "d_epochs": (1, None), "g_steps": (1, None), "rollouts": (1, 1024),
        "rollout_rate": (0.0, 1.0),
    },
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)


@hookimpl
def register_datasets(register: Callable) -> None:
    register(DatasetSpec(
        "oracle", "sequences of a random LSTM (SeqGAN's synthetic oracle: vocab 5000, length 20, 10,000 samples)",
        "sequence", oracle.load_oracle, source="synthetic, from oracle_seed", defaults=dict(oracle.DEFAULTS),
    ))
    register(DatasetSpec(
        "text", "one sentence per line from --data-root FILE, word-level (held out: FILE_test.EXT)",
        "sequence", text.load_text, source="your file", defaults=dict(text.DEFAULTS),
    ))


@hookimpl
def register_metrics(register: Callable) -> None:
    for metric in METRICS:
        register(metric)

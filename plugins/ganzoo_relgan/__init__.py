"""ganzoo plugin: RelGAN (Nie, Narodytska & Patel 2019), text generation with a relational-memory generator,
Gumbel-softmax relaxation and a multi-representation CNN discriminator, trained with the RSGAN loss.

Registers the ``relgan`` model. It trains on any sequence dataset; the ``oracle`` and ``text`` datasets and the
``nll-oracle``, ``nll-test``, ``bleu`` metrics come from the seqgan plugin, by name. Presets:
``schedule=cpu`` (default, fits 2 CPU cores) and ``schedule=paper`` (the reference code's, for GPUs);
see docs/relgan.md.
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo.plugin import ModelSpec, Option, hookimpl
from ganzoo_relgan.models import build_discriminator, build_generator
from ganzoo_relgan.schedules import BETA_SCHEDULES, SCHEDULES
from ganzoo_relgan.training import build_optimizers, make_phases

FROM_SCHEDULE = "(default: the schedule's)"

SPEC = ModelSpec(
    name="relgan",
    description="relational-memory G trained through Gumbel-softmax outputs against a multi-representation "
                "CNN D (RSGAN loss)",
    paper="Nie, Narodytska & Patel 2019, RelGAN: Relational Generative Adversarial Networks for Text Generation "
          "(ICLR)",
    modality="sequence",
    build_generator=build_generator,
    build_discriminator=build_discriminator,
    phases=make_phases,
    build_optimizers=build_optimizers,
    options={
        "schedule": Option("cpu", "named preset of sizes and schedule: cpu (fits 2 CPU cores) or paper "
                           "(the reference code's)", choices=tuple(SCHEDULES)),
        "mem_slots": Option(None, f"memory slots of G's relational memory {FROM_SCHEDULE}", 1, 64, kind=int),
        "head_size": Option(None, f"size of each attention head (and of keys) {FROM_SCHEDULE}", 1, 4096, kind=int),
        "num_heads": Option(None, f"attention heads {FROM_SCHEDULE}", 1, 64, kind=int),
        "emb_dim": Option(None, f"G's token embedding size {FROM_SCHEDULE}", 1, 4096, kind=int),
        "d_emb_dim": Option(None, f"D's embedding size in total, split among num_rep {FROM_SCHEDULE}", 1, 65536,
                            kind=int),
        "num_rep": Option(None, f"D's embedded representations {FROM_SCHEDULE}", 1, 4096, kind=int),
        "d_windows": Option((2, 3, 4, 5), "widths of D's convolution windows", 1, None),
        "d_filters": Option(None, f"D's filters per window width {FROM_SCHEDULE}", 1, 4096, kind=int),
        "d_dropout": Option(0.25, "dropout before D's last layers (the reference keeps 0.75)", 0.0, 0.95),
        "mle_epochs": Option(None, f"MLE pre-training epochs of G {FROM_SCHEDULE}", 0, None, kind=int),
        "beta_max": Option(100.0, "largest inverse temperature of the Gumbel-softmax", 1.0, None),
        "beta_schedule": Option("exp", "beta from 1 to beta_max over the adversarial steps: exp (beta_max ** p), "
                                "linear, or const (beta_max throughout)", choices=BETA_SCHEDULES),
        "lr_g_adv": Option(1e-4, "G's Adam learning rate in adversarial steps (lr_g: in MLE)", 0.0, None,
                           low_inclusive=False),
        "grad_clip": Option(5.0, "gradient-norm clip of every update", 0.0, None),
    },
    overrides={
        "dataset": "oracle", "batch_size": 64, "lr_g": 1e-2, "lr_d": 1e-4, "betas": (0.9, 0.999),
        # None: adversarial steps (steps) and D updates per step (d_steps) come from the schedule
        "steps": None, "d_steps": None,
        "log_every": 10, "sample_every": 0, "checkpoint_every": 100, "num_samples": 20,
    },
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

"""RelGAN's named presets (sizes and schedule) and the inverse-temperature schedule of the Gumbel-softmax.

``paper`` is the reference code's oracle experiment (github.com/weilinie/RelGAN, files
``oracle/experiments/oracle_relgan.py`` (OE), ``run.py`` (RUN), ``oracle/oracle_gan/oracle_train.py`` (OT),
``models/rmc_vanilla.py`` (RV)); where a number comes from is said beside it. The paper's own text could not be
read here, so its numbers are those of its reference code, which TextGAN-PyTorch's ``run/run_relgan.py``
repeats (the same sizes, 150 MLE epochs, 3000 adversarial epochs, 5 D steps). The model's other defaults come
from there too: batch 64, Adam lr 1e-2 for MLE and 1e-4 for adversarial G and for D, betas (0.9, 0.999),
gradient norms clipped at 5 (OE, OT); beta_max 100, one of OE's sweep 2, 5, 10, 100 (RUN's default is 1000),
the value behind the published "RelGAN (100)" scores; the exponential schedule (OE ``adapt = 'exp'``).

``cpu`` fits 2 shared CPU cores: about 12-17 minutes on the 5,000-token oracle (batch 64, length 20). Measured
here with one torch thread while another job kept both cores busy (load 2.5-4): one MLE batch 0.19-0.23 s, so
one epoch (156 batches) 30-37 s; one D update 0.32-0.35 s and one G update 0.45-0.50 s (each samples a fresh
batch from G), so one adversarial step (3 D + 1 G) 1.25-1.5 s in the trainer. 10 epochs (5-6 minutes) and 400
steps (8-10 minutes) make the run. The sizes and why: 2 heads of 64 (a quarter of the paper's 256: G's
output layer over 5,000 tokens dominates its cost and scales with the memory size; the recurrence itself is
about 0.08 s of a batch), D keeps the paper's windows 2-5 with 64 filters each instead of 300 and 16
representations of 2 instead of 64 of 1 (D's highway layer runs on batch x num_rep rows of all the filters:
16 x 256^2 against the paper's 64 x 1200^2 per sequence), and 3 D updates per G update instead of 5.
"""

from __future__ import annotations

import math
from typing import Any

from ganzoo.plugin import unknown_name

SCHEDULES: dict[str, dict[str, int]] = {
    "paper": {
        "mem_slots": 1, "head_size": 256, "num_heads": 2,  # OE (RUN's default head size is 512)
        "emb_dim": 32,  # OE gen_emb_dim
        "d_emb_dim": 64, "num_rep": 64,  # OE: 64 in total, split into 64 representations of 1 (RV)
        "d_filters": 300,  # RV: windows 2, 3, 4, 5 with 300 filters each
        "mle_epochs": 150,  # OE npre_epochs
        "steps": 5000,  # RUN's nadv_steps and OT's temperature horizon N; OE itself stops at 3000
        "d_steps": 5,  # OE dsteps (gsteps 1)
    },
    "cpu": {
        "mem_slots": 1, "head_size": 64, "num_heads": 2, "emb_dim": 32,
        "d_emb_dim": 32, "num_rep": 16, "d_filters": 64,
        "mle_epochs": 10, "steps": 400, "d_steps": 3,
    },
}
SCHEDULE_KEYS = tuple(SCHEDULES["paper"])
BETA_SCHEDULES = ("exp", "linear", "const")


def resolved_schedule(config: Any) -> dict[str, int]:
    """The preset named by ``config["schedule"]``, each number overridden where the run set it (not None).

    ``config`` is anything indexable by option name: a ``RunConfig`` or a ``BuildContext``."""
    name = config["schedule"]
    if name not in SCHEDULES:
        raise unknown_name("schedule", name, SCHEDULES)
    preset = SCHEDULES[name]
    return {key: int(preset[key] if config[key] is None else config[key]) for key in SCHEDULE_KEYS}


def inverse_temperature(step: int, steps: int, beta_max: float, schedule: str) -> float:
    """beta for adversarial step ``step`` of ``steps`` (0-based): from 1 at the first step to ``beta_max`` at the
    last. ``exp``: beta_max ** p (the paper's exponential), ``linear``: 1 + (beta_max - 1) p, with
    p = step / (steps - 1); ``const``: beta_max throughout. (OT computes beta_max ** (i / 5000) with a fixed
    horizon of 5000, so its 3000-step oracle runs stop at beta_max ** 0.6; here the horizon is the run's own.)"""
    if schedule not in BETA_SCHEDULES:
        raise unknown_name("beta_schedule", schedule, BETA_SCHEDULES)
    if schedule == "const":
        return float(beta_max)
    p = 1.0 if steps <= 1 else min(max(step, 0), steps - 1) / (steps - 1)
    if schedule == "exp":
        return float(math.pow(beta_max, p))
    return float(1.0 + (beta_max - 1.0) * p)


"""The options core declares, by section.

A run's configuration has four sections: ``trainer`` (the loop and its numerics), ``model``
(the variant's hyper-parameters, declared by its spec), ``data`` (the dataset and its
options: the common ones here, the rest declared by the dataset spec) and ``eval`` (scoring
during training). Tags in ``applies_to`` keep an option out of runs it means nothing to:
a sequence model has no ``channels_last``, a dataset that reads no files has no ``data_root``,
a model without a discriminator has no ``lr_d``. ``steps`` and ``d_steps`` may be None only
where a variant's own schedule decides them (SeqGAN's).
"""

from __future__ import annotations

from ganzoo.config.options import Option

SECTIONS = ("trainer", "model", "data", "eval")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
IMAGE = frozenset({"image"})
PIXELS = frozenset({"pixels"})
TRANSLATION = frozenset({"translation"})
"""Tag of runs whose samples are images: image data, and translations of images."""
WITH_D = frozenset({"discriminator"})
FILES = frozenset({"files"})

TRAINER_OPTIONS: dict[str, Option] = {
    "steps": Option(1000, "generator steps to train for", 1, None, nullable=True),
    "batch_size": Option(64, "examples per batch", 1, None),
    "lr_g": Option(2e-4, "generator learning rate", 0, 10, low_inclusive=False),
    "lr_d": Option(2e-4, "discriminator learning rate", 0, 10, low_inclusive=False, applies_to=WITH_D),
    "betas": Option((0.5, 0.999), "Adam betas", 0.0, 0.999999, length=2),
    "d_steps": Option(1, "discriminator steps per generator step (k)", 1, 1000, applies_to=WITH_D, nullable=True),
    "loss": Option("nonsaturating", "adversarial loss (ganzoo list losses)", applies_to=WITH_D),
    "seed": Option(0, "random seed", 0, 2**63 - 1),
    "device": Option("auto", "auto, cpu, cuda or cuda:N", affects_results=False),
    "precision": Option(
        "auto", "autocast precision; auto: bf16 for convolutional image models on CPUs with bf16 units, else fp32",
        choices=PRECISIONS,
    ),
    "channels_last": Option(True, "channels_last memory format for convolutional image models (needed for fast bf16 "
                                  "on CPUs)", applies_to=PIXELS),
    "fused": Option(True, "fused Adam kernels where the device has them (else foreach)"),
    "compile": Option(False, "torch.compile G and D (slower first steps; needs a C++ compiler on CPUs)"),
    "log_every": Option(50, "steps between log lines in metrics.jsonl", 1, None, affects_results=False),
    "sample_every": Option(500, "steps between sample grids (0: only at the end)", 0, None, affects_results=False),
    "checkpoint_every": Option(500, "steps between checkpoints (0: only at the end)", 0, None, affects_results=False),
    "keep_checkpoints": Option(3, "how many recent checkpoints to keep", 1, None, affects_results=False),
    "num_samples": Option(64, "samples in each sample grid", 1, 4096, affects_results=False),
    "ema": Option(None, "decay of an exponential moving average of G's weights, sampled and scored instead of G "
                        "(e.g. 0.999; unset: none)", kind=float),
    "ema_start": Option(0, "step from which the EMA averages (before it, it copies G)", 0, None),
    "ema_ramp": Option(0.1, "EMA ramp-up: its half-life is at most this fraction of the steps averaged so far "
                            "(0: a fixed decay)", 0, None),
    "augment": Option(None, "differentiable augmentation of everything D sees: diffaugment[:color,translation,cutout] "
                            "or ada[:TARGET] (unset: none)", kind=str, applies_to=IMAGE | WITH_D),
    "ada_kimg": Option(100.0, "ADA: thousands of images over which p can move from 0 to 1 (the paper's 500 suits "
                              "runs of millions of images)", 0, None, low_inclusive=False, applies_to=IMAGE | WITH_D),
    "reg": Option((), "regularisers of D: r1:GAMMA[:EVERY] (lazy every N steps), lecam:WEIGHT", kind=str,
                  applies_to=WITH_D),
    "extensions": Option((), "further training extensions, NAME[:ARGS] each (ganzoo list extensions)", kind=str),
}

DATA_OPTIONS: dict[str, Option] = {
    "dataset": Option(None, "dataset name (default: the model's, else one per modality)", kind=str),
    "data_root": Option(None, "directory (or file) holding the dataset", kind=str, applies_to=FILES, affects_results=False),
    "split": Option("train", "dataset split to train on"),
    "download": Option(False, "allow downloading a missing dataset", applies_to=FILES, affects_results=False),
    "image_size": Option(None, "resize images to this size (default: the dataset's)", 4, 1024, kind=int,
                         applies_to=PIXELS),
    "pairing": Option("paired", "translation data: paired serves (source, target) pairs; unpaired serves the training "
                                "split's two domains shuffled independently, so no pair is ever seen (CycleGAN); "
                                "held-out splits stay paired for scoring", choices=("paired", "unpaired"),
                      applies_to=TRANSLATION),
    "fraction": Option(1.0, "train on this fraction of the training examples, a seeded subset (scores still compare "
                            "against the whole split)", 0, 1, low_inclusive=False),
    "fraction_seed": Option(0, "seed of the data.fraction subset (the same images for every run seed)", 0, 2**31 - 1),
}

EVAL_OPTIONS: dict[str, Option] = {
    "eval_every": Option(0, "steps between evaluations (0: none; the last step is always scored when > 0)", 0, None,
                         affects_results=False),
    "eval_samples": Option(5000, "generated samples per evaluation during training", 1, None, affects_results=False),
    "eval_metrics": Option("", "comma-separated metrics for eval_every (empty: the defaults)", affects_results=False),
    "feature_extractor": Option("auto", "feature extractor for image scores (auto: the dataset's domain extractor)",
                                applies_to=IMAGE, affects_results=False),
}

CORE_OPTIONS: dict[str, dict[str, Option]] = {"trainer": TRAINER_OPTIONS, "data": DATA_OPTIONS, "eval": EVAL_OPTIONS}
"""Options core declares, by section (the model section is the spec's alone)."""


def bookkeeping_options() -> frozenset[str]:
    """Names of core options that change no result (logging, checkpoints, file locations, scoring during training)."""
    return frozenset(name for options in CORE_OPTIONS.values() for name, opt in options.items() if not opt.affects_results)

"""Training configuration: trainer options, variant defaults and user overrides, resolved and checked.

A run's configuration is one flat JSON object. Precedence, lowest first: the trainer's
defaults below, the variant's ``ModelSpec.defaults``, then what the user passed (CLI options,
``--set key=value`` or keyword arguments of :func:`ganzoo.train`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import ConfigError, unknown_name


@dataclass(frozen=True)
class Option:
    """A trainer option: its default, and the valid range when numeric."""

    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True


TRAINER_OPTIONS: dict[str, Option] = {
    "dataset": Option(None, "dataset name (default: the variant's, else one per modality)"),
    "data_root": Option(None, "directory (or file) holding the dataset"),
    "split": Option("train", "dataset split to train on"),
    "download": Option(False, "allow downloading a missing dataset"),
    "image_size": Option(None, "resize images to this size (default: the dataset's)", 4, 1024),
    "steps": Option(1000, "generator steps to train for", 1, None),
    "batch_size": Option(64, "examples per batch", 1, None),
    "lr_g": Option(2e-4, "generator learning rate", 0, 10, low_inclusive=False),
    "lr_d": Option(2e-4, "discriminator learning rate", 0, 10, low_inclusive=False),
    "betas": Option((0.5, 0.999), "Adam betas"),
    "d_steps": Option(1, "discriminator steps per generator step (k)", 1, 1000),
    "loss": Option("nonsaturating", "adversarial loss"),
    "seed": Option(0, "random seed", 0, 2**63 - 1),
    "device": Option("auto", "auto, cpu, cuda or cuda:N"),
    "precision": Option(
        "auto", "auto, fp32, bf16 or fp16 (autocast); auto: bf16 for convolutional image models on CPUs with bf16 units,"
        " else fp32"
    ),
    "channels_last": Option(True, "channels_last memory format for convolutional image models (needed for fast bf16 on CPUs)"),
    "fused": Option(True, "fused Adam kernels where the device has them (else foreach)"),
    "compile": Option(False, "torch.compile G and D (slower first steps; needs a C++ compiler on CPUs)"),
    "log_every": Option(50, "steps between log lines in metrics.jsonl", 1, None),
    "sample_every": Option(500, "steps between sample grids (0: only at the end)", 0, None),
    "checkpoint_every": Option(500, "steps between checkpoints (0: only at the end)", 0, None),
    "keep_checkpoints": Option(3, "how many recent checkpoints to keep", 1, None),
    "num_samples": Option(64, "images in each sample grid", 1, 4096),
    "eval_every": Option(0, "steps between evaluations (0: none; the last step is always scored when > 0)", 0, None),
    "eval_samples": Option(5000, "generated samples per evaluation during training", 1, None),
    "eval_metrics": Option("", "comma-separated metrics for --eval-every (empty: the defaults)"),
    "feature_extractor": Option("auto", "feature extractor for image scores (auto: the dataset's domain extractor)"),
}

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def parse_set_options(items: Iterable[str]) -> dict[str, str]:
    """Parse repeated ``--set key=value`` strings into a dict of raw strings."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key] = value.strip()
    return out


def _parse_text(text: str) -> Any:
    """Read a --set value: JSON when it parses (numbers, true/false, lists), else the string."""
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        if "," in text:
            return [_parse_text(part.strip()) for part in text.split(",")]
        return text


def coerce(key: str, value: Any, default: Any) -> Any:
    """Convert a user value to the type of the option's default, or raise a clear error."""
    if isinstance(value, os.PathLike):  # paths are stored as strings: the config is JSON
        value = os.fspath(value)
    if isinstance(value, str) and not isinstance(default, str):
        value = _parse_text(value)
    if value is None or default is None:
        return value
    expected = type(default)
    bad = ConfigError(f"{key} must be {_type_word(default)}, got {value!r}")
    if expected is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(value) or float(value) != int(value):
            raise bad
        return int(value)
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value!r}")
        return value
    if expected in (tuple, list):
        if not isinstance(value, (list, tuple)) or len(value) != len(default):
            raise bad
        return tuple(coerce(f"{key}[{i}]", v, d) for i, (v, d) in enumerate(zip(value, default, strict=True)))
    if expected is str:
        return str(value)
    return value


def _type_word(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, (tuple, list)):
        return f"a list of {len(default)} values (a,b)"
    return f"a {type(default).__name__}"


def check_range(key: str, value: Any, low: float | None, high: float | None, low_inclusive: bool = True) -> None:
    """Raise when a numeric value falls outside [low, high] (or (low, high])."""
    if value is None or isinstance(value, (bool, str, tuple, list)):
        return
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and value > high
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ConfigError(f"{key} must be in {span}, got {value}")


def resolve_config(
    model_defaults: Mapping[str, Any],
    bounds: Mapping[str, tuple[float | None, float | None]],
    user: Mapping[str, Any],
) -> dict[str, Any]:
    """Merge trainer defaults, a variant's defaults and user values into one checked config."""
    values: dict[str, Any] = {name: opt.default for name, opt in TRAINER_OPTIONS.items()}
    values.update(model_defaults)
    for key, value in user.items():
        if key not in values:
            raise unknown_name("option", key, values)
        values[key] = coerce(key, value, values[key])
    for key, opt in TRAINER_OPTIONS.items():
        check_range(key, values[key], opt.low, opt.high, opt.low_inclusive)
    for key, (low, high) in bounds.items():
        check_range(key, values.get(key), low, high)
    if values["precision"] not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {values['precision']!r}")
    for i, beta in enumerate(values["betas"]):
        check_range(f"betas[{i}]", beta, 0.0, 0.999999)
    return values

"""Numeric fast paths: autocast precision, gradient scaling and channels_last."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn

from ganzoo.errors import ConfigError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def has_bf16_units(device: torch.device) -> bool:
    """Whether bf16 autocast pays off here: a CPU with AVX512-BF16 or AMX.

    Not on GPUs for the zoo's model sizes: DCGAN steps at batch 64 on an H100 are bound by kernel
    launches, and bf16 autocast measured 10-25% slower than fp32 there (docs/performance.md).
    """
    if device.type == "cpu":
        capabilities = torch.cpu.get_capabilities()
        return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
    return False


def resolve_precision(precision: str, device: torch.device, bf16_pays: bool) -> str:
    """The concrete precision of a run: 'auto' means bf16 on CPUs with bf16 units for models that gain from it
    (convolutional image models, which then run channels_last, and models whose spec declares ``auto_bf16``),
    else fp32. Convolutions in bf16 without channels_last are slow on CPUs, and tiny MLPs or recurrent models
    gain nothing from it."""
    if precision != "auto":
        return precision
    return "bf16" if bf16_pays and has_bf16_units(device) else "fp32"


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse combinations that cannot work (fp16 autocast is a CUDA feature)."""
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision fp16 needs a CUDA device; use bf16 on CPUs")


def autocast(precision: str, device: torch.device) -> AbstractContextManager:
    """The autocast context for a precision ('fp32' gives a no-op context)."""
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=DTYPES[precision])


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16; None where none is needed."""
    if precision == "fp16":
        return torch.amp.GradScaler(device.type)
    return None


def is_convolutional(*modules: nn.Module) -> bool:
    """True when any of the modules contains a 2-D (transposed) convolution."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d)
    return any(isinstance(m, kinds) for module in modules for m in module.modules())

"""Layers several variants use: maxout units, conditional batch norm, spectral normalisation."""

from __future__ import annotations

from typing import TypeVar

from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

M = TypeVar("M", bound=nn.Module)


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): the max over ``pieces`` linear maps."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).view(-1, self.units, self.pieces).amax(dim=2)


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up by class: gamma[y] * BN(x) + beta[y]."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        gain = self.gain(labels).to(x.dtype)[:, :, None, None]
        bias = self.bias(labels).to(x.dtype)[:, :, None, None]
        return self.norm(x) * gain + bias


def spectral_norm(module: M) -> M:
    """``module`` with its weight spectrally normalised (Miyato et al. 2018), through torch's
    parametrization (state-dict keys ``parametrizations.weight.original`` and the power-iteration vectors)."""
    return _spectral_norm(module)


def layer_norm(channels: int) -> nn.GroupNorm:
    """Layer normalisation of a feature map over (C, H, W), with a scale and shift per channel
    (what a critic with a per-sample gradient penalty uses instead of batch norm)."""
    return nn.GroupNorm(1, channels)

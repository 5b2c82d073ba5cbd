"""2-D mixtures of Gaussians for mode-collapse benchmarks (PacGAN / VEEGAN setups).

`ring`: 8 Gaussians on a circle of radius 1, std 0.01. `grid`: 25 Gaussians on
{-4, -2, 0, 2, 4}^2, std 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ganzoo.data.base import DataInfo, DataRequest, TensorData
from ganzoo.errors import DataError

TRAIN_SIZE = 100_000
TEST_SIZE = 2_500
SPLIT_SEEDS = {"train": 0, "test": 1}


@dataclass(frozen=True)
class Mixture:
    """Equal-weight isotropic Gaussian mixture in 2-D."""

    name: str
    modes: Tensor
    std: float

    def sample(self, n: int, seed: int) -> tuple[Tensor, Tensor]:
        """n points and the index of the mode each came from."""
        gen = torch.Generator().manual_seed(seed)
        which = torch.randint(len(self.modes), (n,), generator=gen)
        points = self.modes[which] + self.std * torch.randn(n, 2, generator=gen)
        return points, which


def ring_mixture() -> Mixture:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    modes = torch.stack([angles.cos(), angles.sin()], dim=1).float()
    return Mixture("ring", modes, 0.01)


def grid_mixture() -> Mixture:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = torch.cartesian_prod(axis, axis)
    return Mixture("grid", modes, 0.05)


MIXTURES = {"ring": ring_mixture, "grid": grid_mixture}


def mixture_loader(name: str):
    """A loader for one mixture: a fixed train set and a fixed test set, independent of the run seed."""

    def load(request: DataRequest) -> TensorData:
        if request.split not in SPLIT_SEEDS:
            raise DataError(f"{name} has splits train, test; got {request.split!r}")
        mixture = MIXTURES[name]()
        size = TRAIN_SIZE if request.split == "train" else TEST_SIZE
        points, _ = mixture.sample(size, SPLIT_SEEDS[request.split])
        return TensorData(points, None, DataInfo("points", (2,), extras={"mixture": name}))

    return load

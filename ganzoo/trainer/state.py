"""The state a training step works on: models, optimisers, loss, data and numeric settings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.data.base import Batch, LoadedData
from ganzoo.spec import Discriminator, Generator, LossSpec
from ganzoo.trainer import distributed
from ganzoo.trainer import precision as precision_lib


@dataclass
class TrainState:
    """Everything a step function needs; the trainer owns it and checkpoints it.

    Step functions draw data with :meth:`next_batch`, run forward passes inside
    :meth:`autocast` and update parameters with :meth:`optimize`, so precision, gradient
    scaling and memory format stay the trainer's business.
    """

    generator: Generator
    discriminator: Discriminator
    loss: LossSpec
    config: Mapping[str, Any]
    data: LoadedData
    device: torch.device
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    extras: dict[str, nn.Module] = field(default_factory=dict)
    step: int = 0
    """Steps completed (across all phases)."""
    batches_drawn: int = 0
    """Training batches drawn so far: the position in the data order."""
    precision: str = "fp32"
    channels_last: bool = False
    rank: int = 0
    world_size: int = 1
    scaler: torch.amp.GradScaler | None = None
    _batches: Iterator[Batch] | None = None

    @property
    def d_steps(self) -> int:
        """k: discriminator steps per generator step."""
        return int(self.config["d_steps"])

    @property
    def batch_size(self) -> int:
        return int(self.config["batch_size"])

    def modules(self) -> dict[str, nn.Module]:
        """All modules saved in checkpoints, by name."""
        return {"generator": self.generator, "discriminator": self.discriminator, **self.extras}

    def next_batch(self) -> Batch:
        """The next training batch, on the training device, in the run's resumable order."""
        if self._batches is None:
            self._batches = self.data.batches(
                self.batch_size,
                seed=int(self.config["seed"]),
                start=self.batches_drawn,
                device=self.device,
                rank=self.rank,
                world_size=self.world_size,
            )
        batch = next(self._batches)
        self.batches_drawn += 1
        if self.channels_last and batch.x.dim() == 4:
            batch.x = batch.x.contiguous(memory_format=torch.channels_last)
        return batch

    def autocast(self) -> AbstractContextManager:
        """Context for forward passes at the run's precision."""
        return precision_lib.autocast(self.precision, self.device)

    def optimize(self, loss: Tensor, optimizer: str, clip_grad_norm: float | None = None) -> None:
        """Zero grads, back-propagate ``loss`` and step the named optimiser (with fp16 scaling).

        With several processes the gradients are averaged across them before the step.
        With ``clip_grad_norm`` the gradients of that optimiser's parameters are first rescaled
        to at most that global L2 norm.
        """
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            if self.world_size > 1:
                distributed.average_gradients(opt, self.world_size)
            if clip_grad_norm is not None:
                self._clip(opt, clip_grad_norm)
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            if self.world_size > 1:
                distributed.average_gradients(opt, self.world_size)
            if clip_grad_norm is not None:
                self.scaler.unscale_(opt)
                self._clip(opt, clip_grad_norm)
            self.scaler.step(opt)
            self.scaler.update()

    @staticmethod
    def _clip(opt: torch.optim.Optimizer, max_norm: float) -> None:
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, max_norm)

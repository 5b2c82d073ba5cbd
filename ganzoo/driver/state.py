"""The state a training step works on (models, optimisers, loss, data, numeric settings), and the
views of one D or G update that objectives and training extensions receive."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ganzoo.config import RunConfig
from ganzoo.data.base import Batch, LoadedData
from ganzoo.driver import distributed
from ganzoo.driver import precision as precision_lib
from ganzoo.losses import LossSpec
from ganzoo.nets.base import Discriminator, Generator


@dataclass
class TrainState:
    """Everything a step function needs; the trainer owns it and checkpoints it.

    Step functions draw data with :meth:`next_batch`, run forward passes inside
    :meth:`autocast` and update parameters with :meth:`optimize`, so precision, gradient
    scaling and memory format stay the trainer's business.
    """

    generator: Generator
    discriminator: Discriminator | None
    """None for a model without a discriminator."""
    loss: LossSpec | None
    """The adversarial loss; None for a model without a discriminator."""
    config: RunConfig
    data: LoadedData
    device: torch.device
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = field(default_factory=dict)
    extras: dict[str, nn.Module] = field(default_factory=dict)
    """Further named networks of the variant, checkpointed beside G and D."""
    extensions: list[TrainingExtension] = field(default_factory=list)
    """Training extensions the driver applies (augmentation, regularisers, EMA)."""
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
        players = {"generator": self.generator}
        if self.discriminator is not None:
            players["discriminator"] = self.discriminator
        return {**players, **self.extras}

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
            if batch.condition is not None and batch.condition.dim() == 4:
                batch.condition = batch.condition.contiguous(memory_format=torch.channels_last)
        return batch

    def sampling_generator(self) -> Generator:
        """What sample grids and scores during training use: an extension's (the EMA copy), else G."""
        return self.sampling_choice()[1]

    def sampling_choice(self) -> tuple[str, Generator]:
        """The weights sampled during training, named ("raw" for G itself, else the extension's name)."""
        for extension in self.extensions:
            generator = extension.sampling_generator(self)
            if generator is not None:
                return extension.name, generator
        return "raw", self.generator

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
        for extension in self.extensions:
            extension.after_optimizer_step(self, optimizer)

    @staticmethod
    def _clip(opt: torch.optim.Optimizer, max_norm: float) -> None:
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, max_norm)


@dataclass
class DiscriminatorStep:
    """What an objective's D loss works from: real and fake samples *as D sees them* (after any
    transform) with their conditions. ``real_input`` is the real batch before transforms; it
    requires grad when an extension asked for it (R1)."""

    state: TrainState
    real: Tensor
    real_input: Tensor
    real_labels: Tensor | None
    fake: Tensor
    fake_labels: Tensor | None
    index: int
    """Which of the k D steps this is (0-based)."""


@dataclass
class GeneratorStep:
    """What an objective's G loss works from: fakes as D sees them (with grad), their conditions, the last real batch."""

    state: TrainState
    fake: Tensor
    fake_labels: Tensor | None
    batch: Batch


@dataclass
class Losses:
    """A loss to minimise, the logits it came from (for extensions and logs), and extra values to log."""

    loss: Tensor
    real_logits: Tensor | None = None
    fake_logits: Tensor | None = None
    logs: dict[str, Tensor] = field(default_factory=dict)


class TrainingExtension:
    """A technique the driver applies to any variant without the variant changing.

    Every method has a neutral default, so an extension overrides only what it needs. State
    that must survive a resume (an EMA copy, an augmentation probability, anchors) goes in
    :meth:`state_dict` as tensors; the trainer checkpoints it under the extension's ``name``.
    """

    name: str = "extension"

    def setup(self, state: TrainState) -> None:
        """Called once the run's networks and optimisers exist, before any restore from a checkpoint."""

    def sampling_generator(self, state: TrainState) -> Generator | None:
        """The generator to sample and score instead of G (an EMA copy), or None."""
        return None

    def transform(self, x: Tensor, state: TrainState) -> Tensor:
        """What D sees instead of ``x`` (real or fake), before every D call of D and G steps."""
        return x

    def wants_real_grad(self, state: TrainState) -> bool:
        """True when this D step needs gradients with respect to the real images (R1)."""
        return False

    def discriminator_terms(self, step: DiscriminatorStep, losses: Losses) -> Mapping[str, Tensor]:
        """Terms added to D's loss, by name (each is also logged)."""
        return {}

    def generator_terms(self, step: GeneratorStep, losses: Losses) -> Mapping[str, Tensor]:
        """Terms added to G's loss, by name (each is also logged)."""
        return {}

    def after_optimizer_step(self, state: TrainState, optimizer: str) -> None:
        """Called after each step of the named optimiser ('generator', 'discriminator', ...)."""

    def logs(self, state: TrainState) -> Mapping[str, Tensor]:
        """Values to log after each training step."""
        return {}

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        """Restore what :meth:`state_dict` returned."""

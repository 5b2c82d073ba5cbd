"""An exponential moving average of G's weights (the copy that gets sampled and scored).

The copy is ``torch.optim.swa_utils.AveragedModel`` over G's parameters. Batch-norm statistics are
*recomputed* for the averaged weights before the copy is sampled, not copied from G and not
averaged: G's running means describe G's activations, and an average of weights has activations of
its own (the same reason SWA recomputes them with ``update_bn``). Recomputing draws its latents from a
private, fixed-seed generator, so it never touches the training RNG and gives the same statistics on
every call.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganzoo.driver.state import TrainingExtension, TrainState
from ganzoo.errors import ConfigError
from ganzoo.nets.base import Generator

BN_BATCHES = 16
BN_BATCH_SIZE = 256
BN_SEED = 20_200_625


def check_decay(decay: float) -> float:
    """An EMA decay must lie strictly between 0 and 1."""
    if not 0.0 < decay < 1.0:
        raise ConfigError(f"ema must be in (0, 1), got {decay:g} (0.999 is a common choice)")
    return decay


def ramped_decay(decay: float, averaged: int, ramp: float) -> float:
    """The decay for the next update: the half-life (in updates) is at most ``ramp`` x the updates averaged so far.

    Early in training a fixed 0.999 (a half-life of ~693 updates) would keep mostly the first, poor
    weights; as in StyleGAN2-ADA's EMA ramp-up, the half-life grows with training instead. ``ramp`` 0
    turns the ramp off.
    """
    if ramp <= 0 or averaged <= 0:
        return decay
    return min(decay, 0.5 ** (1.0 / max(1.0, ramp * averaged)))


def _batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recompute_batch_norm(generator: Generator, batches: int = BN_BATCHES, batch_size: int = BN_BATCH_SIZE) -> None:
    """Replace the running statistics of G's batch norms by their exact average over fixed-seed samples."""
    norms = _batch_norms(generator)
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    noise = torch.Generator().manual_seed(BN_SEED)
    was_training = generator.training
    generator.train()
    for _ in range(batches):
        latent = generator.sample_latent(batch_size, noise)
        labels = generator.sample_labels(batch_size, noise)
        generator(latent.to(generator.device), labels.to(generator.device) if labels is not None else None)
    generator.train(was_training)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum


class EMAGenerator(TrainingExtension):
    """Keeps ``decay``-averaged weights of G after every G step from step ``start`` on (before it the copy follows G)."""

    name = "ema"

    def __init__(self, decay: float, start: int = 0, ramp: float = 0.1) -> None:
        self.decay = check_decay(decay)
        self.start = start
        self.ramp = ramp
        self.average: AveragedModel | None = None
        self._stale = True

    def setup(self, state: TrainState) -> None:
        self.average = AveragedModel(state.generator, use_buffers=False)
        self.average.requires_grad_(False)
        self.average.update_parameters(state.generator)  # the copy starts as G

    def after_optimizer_step(self, state: TrainState, optimizer: str) -> None:
        if optimizer != "generator":
            return
        averaged = self.average
        if state.step < self.start:
            averaged.n_averaged.zero_()  # a plain copy until averaging begins
        else:
            decay = ramped_decay(self.decay, int(averaged.n_averaged), self.ramp)
            averaged.multi_avg_fn = get_ema_multi_avg_fn(decay)
        averaged.update_parameters(state.generator)
        self._stale = True

    def sampling_generator(self, state: TrainState) -> Generator:
        """The averaged G with batch-norm statistics of its own, in eval mode."""
        module = self.average.module
        if self._stale:
            recompute_batch_norm(module)
            self._stale = False
        return module.eval()

    def state_dict(self) -> dict[str, Tensor]:
        params = {f"generator.{k}": v.detach().clone() for k, v in self.average.module.named_parameters()}
        return {**params, "n_averaged": self.average.n_averaged.detach().clone()}

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        load_averaged_weights(self.average.module, tensors)
        self.average.n_averaged.copy_(tensors["n_averaged"])
        self._stale = True


def load_averaged_weights(generator: nn.Module, tensors: Mapping[str, Tensor]) -> None:
    """Copy the averaged parameters of an EMA checkpoint group into ``generator`` (its buffers stay)."""
    with torch.no_grad():
        for name, param in generator.named_parameters():
            param.copy_(tensors[f"generator.{name}"])


def averaged_copy(generator: Generator, tensors: Mapping[str, Tensor]) -> Generator:
    """A copy of ``generator`` with the EMA weights of a checkpoint and recomputed batch-norm statistics (eval mode)."""
    out = copy.deepcopy(generator)
    load_averaged_weights(out, tensors)
    recompute_batch_norm(out)
    return out.eval()

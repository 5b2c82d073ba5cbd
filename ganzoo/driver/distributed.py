"""Data-parallel training over several processes (``torchrun --nproc-per-node N -m ganzoo train``).

Each process trains on its own shard of every global batch with its own latents; gradients are
averaged across processes after every backward pass, so all processes take the same optimiser
steps and keep identical weights. Only rank 0 writes the run directory.

Why not DistributedDataParallel: GAN steps run several forward passes per backward, freeze D's
parameters during the G step and some variants differentiate twice (gradient penalties); DDP's
reducer supports none of these cleanly. Averaging the gradients of the optimiser about to step
(one flattened all-reduce per dtype) is what DDP computes, without its restrictions. Batch-norm
buffers are broadcast from rank 0 after each step, as DDP's ``broadcast_buffers`` does. Modules
stay unwrapped, so checkpoints hold plain weights and resume under any world size.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from ganzoo.errors import ConfigError

RANK_SEED_STRIDE = 1_000_003


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when run alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes the run directory."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @classmethod
    def from_env(cls) -> World:
        """The world torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK (alone when they are absent)."""
        try:
            size = int(os.environ.get("WORLD_SIZE", "1"))
            rank = int(os.environ.get("RANK", "0"))
            local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ConfigError("WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers (torchrun sets them)") from None
        if size < 1 or not 0 <= rank < size:
            raise ConfigError(f"RANK {rank} does not fit WORLD_SIZE {size}")
        return cls(rank, size, local_rank)


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group (gloo on CPUs, nccl on CUDA) and return this process's device."""
    if not world.distributed:
        return device
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; train in one process")
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", world.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.get_world_size() != world.size or dist.get_rank() != world.rank:
        raise ConfigError("the process group does not match RANK / WORLD_SIZE")
    return device


def leave(world: World) -> None:
    """Leave the process group joined by :func:`join` (a no-op when alone)."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def seed_rank(world: World, seed: int, step: int) -> None:
    """Give each process its own random stream (latents, dropout) from ``seed``, the rank and the step.

    Rank 0 keeps the stream it has (the run's seed, or the one restored from a checkpoint).
    """
    if world.rank == 0:
        return
    derived = (int(seed) * RANK_SEED_STRIDE + world.rank * 7919 + int(step)) % 2**63
    torch.manual_seed(derived)
    np.random.seed(derived % 2**32)
    random.seed(derived)


def _collective_device() -> torch.device:
    """Where small control tensors must live for the process group's backend (nccl: the GPU)."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _by_dtype(tensors: Iterable[Tensor]) -> dict[torch.dtype, list[Tensor]]:
    groups: dict[torch.dtype, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault(t.dtype, []).append(t)
    return groups


def _flat_collective(tensors: Iterable[Tensor], collective) -> None:
    """Run ``collective`` on all tensors at once (one flat buffer per dtype) and copy the result back."""
    for group in _by_dtype(tensors).values():
        flat = torch.cat([t.reshape(-1) for t in group])
        collective(flat)
        offset = 0
        for t in group:
            t.copy_(flat[offset : offset + t.numel()].view(t.shape))
            offset += t.numel()


def average_gradients(optimizer: torch.optim.Optimizer, world_size: int) -> None:
    """Average the gradients of the optimiser's parameters over all processes.

    Every process runs the same code on the same model, so the set of parameters with a gradient
    is the same everywhere.
    """
    def mean(flat: Tensor) -> None:
        dist.all_reduce(flat)
        flat.div_(world_size)

    grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if grads:
        _flat_collective(grads, mean)


def broadcast_state(modules: Iterable[nn.Module], buffers_only: bool = False) -> None:
    """Copy rank 0's buffers (and parameters unless ``buffers_only``) to every process."""
    tensors: list[Tensor] = []
    for module in modules:
        if not buffers_only:
            tensors += [p.data for p in module.parameters()]
        tensors += list(module.buffers())
    if tensors:
        _flat_collective(tensors, lambda flat: dist.broadcast(flat, src=0))


def mean_across(values: dict[str, float], world: World) -> dict[str, float]:
    """The mean of each logged value over all processes (a non-finite value anywhere stays non-finite)."""
    if not world.distributed or not values:
        return values
    keys = sorted(values)
    stacked = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(stacked)
    return {k: float(v) / world.size for k, v in zip(keys, stacked.tolist(), strict=True)}


def any_process(flag: bool, world: World) -> bool:
    """True when ``flag`` is true on any process (every process gets the same answer)."""
    if not world.distributed:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())

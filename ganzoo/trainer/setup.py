"""Turning a model spec and its resolved config into a ready TrainState, and restoring one from a checkpoint."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ganzoo.config import RunConfig
from ganzoo.configure import unlabelled_message
from ganzoo.data.base import PIXEL_MODALITIES, DataInfo, LoadedData, check_batch_size, training_fraction
from ganzoo.data.loading import load_data
from ganzoo.device import resolve_device
from ganzoo.driver import distributed
from ganzoo.driver import precision as precision_lib
from ganzoo.driver.distributed import World
from ganzoo.driver.state import TrainingExtension, TrainState
from ganzoo.errors import CheckpointError, ConfigError, DataError
from ganzoo.extensions.selection import build_extensions
from ganzoo.nets.base import Discriminator, Generator
from ganzoo.registry import Registry
from ganzoo.spec import BuildContext, ModelSpec
from ganzoo.storage.checkpoint import Checkpoint, restore_optimizer, restore_rng

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed torch, NumPy and Python's RNGs."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def build_models(spec: ModelSpec, info: DataInfo, config: RunConfig) -> tuple[Generator, Discriminator | None]:
    """Build G (and D, where the variant has one) and check they honour the contracts."""
    if spec.conditional and info.num_classes <= 0:
        raise DataError(unlabelled_message(spec, config["dataset"]))
    ctx = BuildContext(info, config)
    generator = spec.build_generator(ctx)
    if not isinstance(generator, Generator):
        raise TypeError(f"model {spec.name!r}: build_generator returned {type(generator).__name__}, not a ganzoo Generator")
    if spec.build_discriminator is None:
        return generator, None
    discriminator = spec.build_discriminator(ctx)
    if not isinstance(discriminator, Discriminator):
        raise TypeError(
            f"model {spec.name!r}: build_discriminator returned {type(discriminator).__name__}, not a ganzoo Discriminator"
        )
    return generator, discriminator


def adam(state: TrainState, params: Iterable[nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with the run's betas: fused kernels when the ``fused`` option is on and the device has
    them (CPU and CUDA do in torch >= 2.4), else foreach kernels. Variants building their own
    optimisers can call this to get the same fast path."""
    params = list(params)
    betas = tuple(state.config["betas"])
    if state.config.get("fused", True):
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
        except RuntimeError:  # a device or dtype without fused kernels
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas, foreach=True)


def default_optimizers(state: TrainState) -> dict[str, torch.optim.Optimizer]:
    """Adam for G (and D, where there is one) with lr_g / lr_d and betas (see :func:`adam`)."""
    optimizers = {"generator": adam(state, state.generator.parameters(), state.config["lr_g"])}
    if state.discriminator is not None:
        optimizers["discriminator"] = adam(state, state.discriminator.parameters(), state.config["lr_d"])
    return optimizers


def compile_models(device: torch.device, *modules: nn.Module) -> None:
    """torch.compile each module in place (its state_dict keys, hence checkpoints, stay the same).

    Compilation itself happens at the first forward pass; the trainer turns a failure there into
    one line (:class:`CompileError`). What can be checked up front is checked here.
    """
    import shutil

    import torch._dynamo

    if not torch._dynamo.is_dynamo_supported():
        raise CompileError("--compile: torch.compile is not supported on this Python / platform; train without it")
    if device.type == "cpu" and not (shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise CompileError("--compile on a CPU needs a C++ compiler (c++, g++ or clang++) on PATH; train without it")
    for module in modules:
        module.compile()


class CompileError(ConfigError):
    """torch.compile cannot be used here."""


def prepare_state(
    registry: Registry, spec: ModelSpec, config: RunConfig, data: LoadedData | None = None,
    world: World | None = None, extensions: Sequence[TrainingExtension] = (),
) -> TrainState:
    """Seed, load data (unless given), build models, optimisers and schedulers on the configured device.

    With a ``world`` of several processes this joins the process group first; every process
    builds the same initial weights (same seed), then draws its own random stream.
    """
    world = world or World()
    extensions = [*build_extensions(registry, spec, config), *extensions]  # checked before any slow work
    if world.distributed and int(config["eval_every"]) > 0:
        raise ConfigError("--eval-every works in single-process training only; score the run afterwards "
                          "with ganzoo eval")
    device = distributed.join(world, resolve_device(config["device"]))
    precision_lib.check_precision(config["precision"], device)
    seed_everything(int(config["seed"]))
    data = data if data is not None else load_data(registry, config)
    if float(config["fraction"]) < 1.0:
        full = len(data)
        data = training_fraction(data, float(config["fraction"]), int(config["fraction_seed"]))
        log.info("training on %d of %d examples (data.fraction %g, subset seed %d)", len(data), full,
                 float(config["fraction"]), int(config["fraction_seed"]))
    check_batch_size(len(data), int(config["batch_size"]), world.size)
    generator, discriminator = build_models(spec, data.info, config)
    ctx = BuildContext(data.info, config)
    extras = dict(spec.build_extras(ctx, generator, discriminator)) if spec.build_extras else {}
    networks = [m for m in (generator, discriminator, *extras.values()) if m is not None]
    for module in networks:
        module.to(device)
    channels_last = (bool(config.get("channels_last")) and data.info.modality in PIXEL_MODALITIES
                     and precision_lib.is_convolutional(*networks))
    if channels_last and config["compile"] and device.type == "cuda":
        # torch 2.11's inductor fails a stride assertion in the compiled convolution backward of
        # channels_last DCGANs on CUDA (seen on an H100); compiled CUDA runs keep the default layout
        log.warning("--compile on CUDA: training in the default memory layout, not channels_last")
        channels_last = False
    if channels_last:
        for module in networks:
            module.to(memory_format=torch.channels_last)
    config["precision"] = precision_lib.resolve_precision(config["precision"], device, channels_last or spec.auto_bf16)
    if config["compile"]:
        compile_models(device, *[m for m in (generator, discriminator) if m is not None])
    state = TrainState(
        generator=generator,
        discriminator=discriminator,
        loss=registry.loss(config["loss"]) if discriminator is not None else None,
        config=config,
        data=data,
        device=device,
        extras=extras,
        precision=config["precision"],
        channels_last=channels_last,
        scaler=precision_lib.grad_scaler(config["precision"], device),
        rank=world.rank,
        world_size=world.size,
        extensions=extensions,
    )
    state.optimizers = (spec.build_optimizers or default_optimizers)(state)
    state.schedulers = dict(spec.build_schedulers(state)) if spec.build_schedulers else {}
    for extension in extensions:
        extension.setup(state)
    distributed.seed_rank(world, int(config["seed"]), 0)
    return state


def load_modules(state: TrainState, checkpoint: Checkpoint) -> None:
    """Load every module's weights from a checkpoint, with a clear error on a mismatch."""
    for name, module in state.modules().items():
        saved = checkpoint.module_state(name)
        try:
            module.load_state_dict(saved)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{checkpoint.path}: its {name} does not fit the model built from this configuration "
                f"({describe_mismatch(exc)})"
            ) from None


_SIZE_MISMATCH = re.compile(r"size mismatch for (\S+): copying a param with shape torch\.Size\(\[(.*?)\]\) from "
                            r"checkpoint, the shape in current model is torch\.Size\(\[(.*?)\]\)")


def describe_mismatch(exc: RuntimeError) -> str:
    """torch's load_state_dict error, shortened to its first difference (it can run to pages)."""
    text = str(exc)
    sizes = _SIZE_MISMATCH.findall(text)
    if sizes:
        name, saved, built = sizes[0]
        more = f", and {len(sizes) - 1} more tensors differ" if len(sizes) > 1 else ""
        return f"{name} is [{saved}] in the checkpoint but [{built}] in the model{more}"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__
    return detail if len(detail) <= 200 else detail[:197] + "..."


def restore_state(state: TrainState, checkpoint: Checkpoint) -> None:
    """Continue exactly where a checkpoint stopped: weights, optimisers, counters, RNG."""
    load_modules(state, checkpoint)
    optim_desc = checkpoint.meta.get("optimizers", {})
    for name, optimizer in state.optimizers.items():
        if name not in optim_desc:
            raise CheckpointError(f"{checkpoint.path}: no state for optimiser {name!r}")
        try:
            restore_optimizer(f"optim/{name}", optimizer, checkpoint.tensors, optim_desc[name])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{checkpoint.path}: its {name} optimiser state does not fit this model ({exc})") from None
    saved_schedulers = checkpoint.meta.get("schedulers", {})
    for name, scheduler in state.schedulers.items():
        if name not in saved_schedulers:
            raise CheckpointError(f"{checkpoint.path}: no state for learning-rate scheduler {name!r}")
        scheduler.load_state_dict(saved_schedulers[name])
    for extension in state.extensions:
        saved = checkpoint.module_state(extension_group(extension))
        if extension.state_dict() and not saved:
            raise CheckpointError(f"{checkpoint.path}: no state for training extension {extension.name!r} "
                                  "(was the run trained without it?)")
        extension.load_state_dict(saved)
    state.step = checkpoint.step
    state.batches_drawn = int(checkpoint.meta.get("batches_drawn", 0))
    try:
        restore_rng(checkpoint.tensors, checkpoint.meta["rng"])
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{checkpoint.path}: its random-number states cannot be restored ({exc})") from None
    if state.scaler is not None and "scaler" in checkpoint.meta:
        state.scaler.load_state_dict(checkpoint.meta["scaler"])
    distributed.seed_rank(World(state.rank, state.world_size), int(state.config["seed"]), state.step)


def extension_group(extension: TrainingExtension) -> str:
    """Where an extension's state lives in a checkpoint."""
    return f"extension/{extension.name}"


def scheduler_states(state: TrainState) -> dict[str, dict]:
    """JSON-ready state of each learning-rate scheduler (checkpoint metadata is JSON)."""
    out = {}
    for name, scheduler in state.schedulers.items():
        saved = scheduler.state_dict()
        try:
            json.dumps(saved)
        except TypeError as exc:
            raise TypeError(f"scheduler {name!r}: its state is not JSON ({exc}); use schedulers whose lambdas are "
                            "plain functions") from None
        out[name] = saved
    return out



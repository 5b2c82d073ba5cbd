"""Turning a request (model name, options, or an existing run) into a ready TrainState."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganzoo.config import resolve_config
from ganzoo.data.base import DataRequest, LoadedData, check_batch_size
from ganzoo.errors import CheckpointError, ConfigError, DataError
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.spec import BuildContext, DataInfo, Discriminator, Generator, ModelSpec
from ganzoo.trainer import distributed
from ganzoo.trainer import precision as precision_lib
from ganzoo.trainer.checkpoint import Checkpoint, restore_optimizer, restore_rng
from ganzoo.trainer.distributed import World
from ganzoo.trainer.state import TrainState

log = logging.getLogger(__name__)

DEFAULT_DATASETS = {"image": "digits", "points": "ring"}


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; reject devices this machine lacks."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for, but this machine has no CUDA GPU; use --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def seed_everything(seed: int) -> None:
    """Seed torch, NumPy and Python's RNGs."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def dataset_name(spec: ModelSpec, user: Mapping[str, Any]) -> str:
    """The dataset a run uses: the user's, else the variant's default, else its modality's."""
    name = user.get("dataset") or spec.defaults.get("dataset") or DEFAULT_DATASETS.get(spec.modalities[0])
    if not name:
        raise ConfigError(f"model {spec.name!r} has no default dataset; pass --dataset")
    return str(name)


def resolve(registry: Registry, model: str, user: Mapping[str, Any]) -> tuple[ModelSpec, dict[str, Any]]:
    """The variant's spec and its fully resolved, checked configuration."""
    spec = registry.model(model)
    dataset = registry.dataset(dataset_name(spec, user))
    if dataset.modality not in spec.modalities:
        raise DataError(
            f"model {spec.name!r} trains on {'/'.join(spec.modalities)} data, but dataset "
            f"{dataset.name!r} holds {dataset.modality} data"
        )
    if spec.conditional and not dataset.labelled:
        raise DataError(unlabelled_message(spec, dataset.name))
    defaults = {**dataset.defaults, **spec.defaults, "dataset": dataset.name}
    config = resolve_config(defaults, spec.bounds, user)
    registry.loss(config["loss"])  # unknown loss -> clear error before any work
    if config.get("data_root"):  # absolute, so a resume from another directory finds the data
        config["data_root"] = str(Path(config["data_root"]).expanduser().absolute())
    return spec, config


def unlabelled_message(spec: ModelSpec, dataset: str) -> str:
    """The one line for a conditional model asked to train on data without class labels."""
    return (f"model {spec.name!r} is conditional and needs class labels, but dataset {dataset!r} has none; "
            "choose a labelled dataset (ganzoo list datasets)")


def load_data(registry: Registry, config: Mapping[str, Any], split: str | None = None) -> LoadedData:
    """Load the configured dataset (optionally another split, for reference statistics)."""
    dataset = registry.dataset(config["dataset"])
    request = DataRequest(
        root=Path(config["data_root"]) if config.get("data_root") else None,
        split=split or config["split"],
        download=bool(config.get("download")),
        image_size=config.get("image_size"),
        seed=int(config["seed"]),
        options=config,
    )
    return dataset.load(request)


def build_models(spec: ModelSpec, info: DataInfo, config: Mapping[str, Any]) -> tuple[Generator, Discriminator]:
    """Build G and D and check they honour the contracts."""
    if spec.conditional and info.num_classes <= 0:
        raise DataError(unlabelled_message(spec, config["dataset"]))
    ctx = BuildContext(info, config)
    generator = spec.build_generator(ctx)
    discriminator = spec.build_discriminator(ctx)
    if not isinstance(generator, Generator):
        raise TypeError(f"model {spec.name!r}: build_generator returned {type(generator).__name__}, not a ganzoo Generator")
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
    """Adam for G and D with lr_g / lr_d and betas (see :func:`adam`)."""
    return {
        "generator": adam(state, state.generator.parameters(), state.config["lr_g"]),
        "discriminator": adam(state, state.discriminator.parameters(), state.config["lr_d"]),
    }


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


@dataclass
class Prepared:
    """A spec, its config and a TrainState ready to run."""

    spec: ModelSpec
    config: dict[str, Any]
    state: TrainState


def prepare_state(
    registry: Registry, spec: ModelSpec, config: dict[str, Any], data: LoadedData | None = None,
    world: World | None = None,
) -> TrainState:
    """Seed, load data (unless given), build models and optimisers on the configured device.

    With a ``world`` of several processes this joins the process group first; every process
    builds the same initial weights (same seed), then draws its own random stream.
    """
    world = world or World()
    if world.distributed and int(config["eval_every"]) > 0:
        raise ConfigError("--eval-every works in single-process training only; score the run afterwards "
                          "with ganzoo eval")
    device = distributed.join(world, resolve_device(config["device"]))
    precision_lib.check_precision(config["precision"], device)
    seed_everything(int(config["seed"]))
    data = data if data is not None else load_data(registry, config)
    check_batch_size(len(data), int(config["batch_size"]), world.size)
    generator, discriminator = build_models(spec, data.info, config)
    generator.to(device)
    discriminator.to(device)
    ctx = BuildContext(data.info, config)
    extras = dict(spec.build_extras(ctx, generator, discriminator)) if spec.build_extras else {}
    for module in extras.values():
        module.to(device)
    channels_last = (bool(config["channels_last"]) and data.info.modality == "image"
                     and precision_lib.is_convolutional(generator, discriminator))
    if channels_last and config["compile"] and device.type == "cuda":
        # torch 2.11's inductor fails a stride assertion in the compiled convolution backward of
        # channels_last DCGANs on CUDA (seen on an H100); compiled CUDA runs keep the default layout
        log.warning("--compile on CUDA: training in the default memory layout, not channels_last")
        channels_last = False
    if channels_last:
        for module in (generator, discriminator, *extras.values()):
            module.to(memory_format=torch.channels_last)
    config["precision"] = precision_lib.resolve_precision(config["precision"], device, channels_last)
    if config["compile"]:
        compile_models(device, generator, discriminator)
    state = TrainState(
        generator=generator,
        discriminator=discriminator,
        loss=registry.loss(config["loss"]),
        config=config,
        data=data,
        device=device,
        extras=extras,
        precision=config["precision"],
        channels_last=channels_last,
        scaler=precision_lib.grad_scaler(config["precision"], device),
        rank=world.rank,
        world_size=world.size,
    )
    state.optimizers = (spec.build_optimizers or default_optimizers)(state)
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
    state.step = checkpoint.step
    state.batches_drawn = int(checkpoint.meta.get("batches_drawn", 0))
    try:
        restore_rng(checkpoint.tensors, checkpoint.meta["rng"])
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{checkpoint.path}: its random-number states cannot be restored ({exc})") from None
    if state.scaler is not None and "scaler" in checkpoint.meta:
        state.scaler.load_state_dict(checkpoint.meta["scaler"])
    distributed.seed_rank(World(state.rank, state.world_size), int(state.config["seed"]), state.step)


def registry_or_default(registry: Registry | None) -> Registry:
    return registry if registry is not None else get_registry()

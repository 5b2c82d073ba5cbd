"""Checkpoints: one .safetensors file with models, optimiser states, RNG states and the config.

No pickle anywhere. safetensors metadata is str -> str, so structured facts (the config,
optimiser hyper-parameters, Python/NumPy RNG states) are stored as JSON strings. Files are
written atomically: temporary file, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

FORMAT = "ganzoo-checkpoint"
FORMAT_VERSION = "1"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Atomic text write (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _cpu(t: Tensor) -> Tensor:
    # clone: safetensors refuses tensors that share memory (tied weights) or are views
    return t.detach().to("cpu", copy=True).contiguous()


def module_tensors(prefix: str, module: nn.Module) -> dict[str, Tensor]:
    """A module's state dict as flat named tensors."""
    return {f"{prefix}/{k}": _cpu(v) for k, v in module.state_dict().items()}


def optimizer_tensors(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Flatten an optimiser state dict into named tensors plus a JSON description of the rest."""
    sd = optimizer.state_dict()
    tensors: dict[str, Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for pid, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, Tensor):
                tensors[f"{prefix}/{pid}/{key}"] = _cpu(value)
            else:
                plain.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, Tensor], desc: dict[str, Any]) -> None:
    """Inverse of :func:`optimizer_tensors`."""
    state: dict[int, dict[str, Any]] = {}
    for pid, entries in desc.get("state", {}).items():
        state.setdefault(int(pid), {}).update(entries)
    head = prefix + "/"
    for name, value in tensors.items():
        if name.startswith(head):
            pid, key = name[len(head):].split("/", 1)
            state.setdefault(int(pid), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": desc["param_groups"]})


def rng_snapshot() -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The torch, CUDA, NumPy and Python RNG states, as tensors and JSON."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = state
    np_state = np.random.get_state()
    tensors["rng/numpy"] = torch.from_numpy(np.asarray(np_state[1], dtype=np.int64))
    py_version, py_internal, py_gauss = random.getstate()
    plain = {
        "numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [py_version, list(py_internal), py_gauss],
    }
    return tensors, plain


def restore_rng(tensors: dict[str, Tensor], plain: dict[str, Any]) -> None:
    """Inverse of :func:`rng_snapshot` (CUDA states only where CUDA is present)."""
    torch.set_rng_state(tensors["rng/torch"])
    cuda_states = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    name, pos, has_gauss, gauss = plain["numpy"]
    keys = tensors["rng/numpy"].numpy().astype(np.uint32)
    np.random.set_state((name, keys, pos, has_gauss, gauss))
    version, internal, py_gauss = plain["python"]
    random.setstate((version, tuple(internal), py_gauss))


@dataclass
class Checkpoint:
    """A checkpoint read from disk: tensors by name and its metadata."""

    path: Path
    tensors: dict[str, Tensor]
    meta: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.meta["step"])

    @property
    def config(self) -> dict[str, Any]:
        return self.meta["config"]

    def module_state(self, name: str) -> dict[str, Tensor]:
        """The state dict saved for module ``name`` ('generator', 'discriminator', ...)."""
        head = name + "/"
        return {k[len(head):]: v for k, v in self.tensors.items() if k.startswith(head)}


def save_checkpoint(
    path: Path,
    *,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    meta: dict[str, Any],
) -> None:
    """Write modules, optimisers, RNG states and JSON metadata atomically to one safetensors file."""
    tensors: dict[str, Tensor] = {}
    for name, module in modules.items():
        tensors.update(module_tensors(name, module))
    optim_desc: dict[str, Any] = {}
    for name, optimizer in optimizers.items():
        t, desc = optimizer_tensors(f"optim/{name}", optimizer)
        tensors.update(t)
        optim_desc[name] = desc
    rng_tensors, rng_plain = rng_snapshot()
    tensors.update(rng_tensors)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": json.dumps({**meta, "optimizers": optim_desc, "rng": rng_plain}),
    }
    atomic_write_bytes(Path(path), safetensors_bytes(tensors, metadata=metadata))


def read_checkpoint(path: Path) -> Checkpoint:
    """Read a ganzoo checkpoint; raise CheckpointError for anything truncated, corrupt or foreign."""
    from ganzoo.errors import CheckpointError

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            header = handle.metadata() or {}
            if header.get("format") != FORMAT:
                raise CheckpointError(f"{path}: a safetensors file, but not a ganzoo checkpoint")
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        meta = json.loads(header["meta"])
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt): {exc}") from exc
    if not isinstance(meta, dict) or "step" not in meta or "config" not in meta:
        raise CheckpointError(f"{path}: checkpoint metadata is incomplete")
    return Checkpoint(path, tensors, meta)

"""Checkpoints: one .safetensors file with models, optimiser states, RNG states and the config.

No pickle anywhere. safetensors metadata is str -> str, so structured facts (the config,
optimiser hyper-parameters, Python/NumPy RNG states) are stored as JSON strings. Files are
written atomically: temporary file, fsync, rename, fsync of the directory. Each file carries a
SHA-256 digest of its header and tensor bytes, so a truncated or bit-flipped file is refused
instead of loading silently wrong weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

FORMAT = "ganzoo-checkpoint"
FORMAT_VERSION = "2"
DIGEST_KEY = "sha256"
"""Metadata key of the file's digest (format version 2 on; version 1 files have none)."""
TEMP_SUFFIX = ".tmp"
"""Temporary files of :func:`atomic_write_bytes` are named ``.<name>.<random>.tmp``."""


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()  # what open() would give; mkstemp alone gives 0600


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _FILE_MODE)
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
    match_param_layout(optimizer)


def match_param_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give per-element state (Adam's moments) the memory layout of its parameter.

    Checkpoints store contiguous tensors; a channels_last parameter needs channels_last moments,
    since fused optimiser kernels walk parameter and state memory in the same order.
    """
    for param, entries in optimizer.state.items():
        for key, value in entries.items():
            if isinstance(value, Tensor) and value.shape == param.shape and value.stride() != param.stride():
                entries[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


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
    cuda_keys = sorted((k for k in tensors if k.startswith("rng/cuda/")), key=lambda k: int(k.rsplit("/", 1)[1]))
    cuda_states = [tensors[k] for k in cuda_keys]
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
        """The stored configuration: sectioned, or one flat object in checkpoints of ganzoo 0.1."""
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
    state_tensors: dict[str, dict[str, Tensor]] | None = None,
) -> None:
    """Write modules, optimisers, RNG states and JSON metadata atomically to one safetensors file.

    ``state_tensors`` are further named groups of tensors (training extensions' state), stored
    under ``GROUP/`` and read back with :meth:`Checkpoint.module_state`.
    """
    tensors: dict[str, Tensor] = {}
    for name, module in modules.items():
        tensors.update(module_tensors(name, module))
    for group, values in (state_tensors or {}).items():
        tensors.update({f"{group}/{key}": _cpu(value) for key, value in values.items()})
    optim_desc: dict[str, Any] = {}
    for name, optimizer in optimizers.items():
        t, desc = optimizer_tensors(f"optim/{name}", optimizer)
        tensors.update(t)
        optim_desc[name] = desc
    rng_tensors, rng_plain = rng_snapshot()
    tensors.update(rng_tensors)
    write_checkpoint(path, tensors, {**meta, "optimizers": optim_desc, "rng": rng_plain})


def write_checkpoint(path: Path, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
    """Atomically write named tensors and JSON metadata as a ganzoo checkpoint file."""
    atomic_write_bytes(Path(path), encode_checkpoint(tensors, meta))


def _digest(header: dict[str, Any], data: memoryview | bytes) -> str:
    """SHA-256 of the header (canonical JSON, without the digest itself) and the tensor bytes."""
    h = hashlib.sha256(json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    h.update(data)
    return h.hexdigest()


def encode_checkpoint(tensors: dict[str, Tensor], meta: dict[str, Any]) -> bytes:
    """The bytes of a checkpoint file: safetensors with our metadata and a digest of the whole."""
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": json.dumps(meta)}
    raw = safetensors_bytes(tensors, metadata=metadata)
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    data = memoryview(raw)[8 + size :]
    header["__metadata__"][DIGEST_KEY] = _digest(header, data)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # keep the tensor data 8-byte aligned, as safetensors does
    return b"".join((struct.pack("<Q", len(encoded)), encoded, data))


def read_checkpoint(path: Path) -> Checkpoint:
    """Read a ganzoo checkpoint; raise CheckpointError for anything truncated, corrupt or foreign."""
    from ganzoo.errors import CheckpointError

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    return decode_checkpoint(data, path)


def decode_checkpoint(data: bytes, path: Path) -> Checkpoint:
    """Parse and verify the bytes of a checkpoint file (``path`` names it in messages)."""
    from ganzoo.errors import CheckpointError

    def refuse(why: str) -> CheckpointError:
        return CheckpointError(f"{path}: {why}")

    corrupt = "not a readable checkpoint (truncated or corrupt"
    if len(data) < 8:
        raise refuse(f"{corrupt}: only {len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise refuse(f"{corrupt}: its header runs past the end of the file)")
    try:
        header = json.loads(data[8 : 8 + size])
    except (ValueError, UnicodeDecodeError):
        raise refuse(f"{corrupt}: its header is not valid JSON)") from None
    block = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(block, dict) or block.get("format") != FORMAT:
        raise refuse("not a ganzoo checkpoint (a different kind of file, or another program's .safetensors)")
    version = block.get("format_version")
    if version not in ("1", FORMAT_VERSION):
        raise refuse(f"checkpoint format {version!r} is not one this ganzoo reads ({FORMAT_VERSION}); upgrade ganzoo")
    body = memoryview(data)[8 + size :]
    missing = _data_length(header) - len(body)
    if missing > 0:
        raise refuse(f"not a complete checkpoint (truncated: {missing} bytes of tensor data are missing)")
    digest = block.pop(DIGEST_KEY, None)
    if version != "1" and digest != _digest(header, body):
        raise refuse(f"{corrupt}: its checksum does not match its contents)")
    try:
        tensors = safetensors_load(data)
        meta = json.loads(block["meta"])
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise refuse(f"{corrupt}: {exc})") from None
    if not isinstance(meta, dict) or not _meta_complete(meta):
        raise refuse("checkpoint metadata is incomplete")
    return Checkpoint(path, tensors, meta)


def _data_length(header: dict[str, Any]) -> int:
    """How many bytes of tensor data the header describes (0 when it is malformed)."""
    offsets = [entry.get("data_offsets") for key, entry in header.items() if key != "__metadata__" and isinstance(entry, dict)]
    return max((pair[-1] for pair in offsets if isinstance(pair, list) and pair and isinstance(pair[-1], int)), default=0)


def _meta_complete(meta: dict[str, Any]) -> bool:
    """The facts every reader relies on are present with the right JSON types."""
    kinds = {"step": int, "config": dict, "model": str, "data_info": dict}
    return all(isinstance(meta.get(key), kind) and not isinstance(meta.get(key), bool) for key, kind in kinds.items())

"""The loaded-data contract: a dataset yields batches in a reproducible, resumable order.

The order of examples is a function of (seed, number of batches drawn so far): epoch e is a
permutation drawn from a generator seeded by (seed, e). A resumed run continues the order
exactly where it stopped, and several processes can each take their slice of every batch.
"""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ganzoo.errors import DataError

DATA_HOME_ENV = "GANZOO_DATA"
Modality = Literal["image", "sequence", "points", "translation"]
MODALITIES: tuple[str, ...] = ("image", "sequence", "points", "translation")
PIXEL_MODALITIES: tuple[str, ...] = ("image", "translation")
"""Modalities whose samples are images (C, H, W): a translation's outputs are images too."""


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build itself."""

    modality: str
    shape: tuple[int, ...]
    """One sample's shape: (C, H, W) for images and translations (the target), (L,) for sequences, (D,) for points.

    Translation data (image-to-image) declares in ``extras``: ``condition_shape`` (the source images' shape),
    ``paired`` (True when ``x[i]`` is the true translation of ``condition[i]``; False for two domains drawn
    independently) and ``domains`` (the names of domain A, the sources, and domain B, the targets)."""
    num_classes: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Modality-specific facts, e.g. ``vocab_size`` for sequences, ``condition_shape`` for translation pairs."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored in config.json and checkpoint metadata)."""
        out = asdict(self)
        out["shape"] = list(self.shape)
        out["extras"] = dict(self.extras)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DataInfo:
        """Inverse of :meth:`to_json`."""
        return cls(
            modality=data["modality"],
            shape=tuple(int(s) for s in data["shape"]),
            num_classes=int(data.get("num_classes", 0)),
            extras=dict(data.get("extras", {})),
        )


def default_data_root() -> Path:
    """Where datasets are looked for without --data-root: $GANZOO_DATA or ~/.cache/ganzoo/data."""
    env = os.environ.get(DATA_HOME_ENV)
    return Path(env) if env else Path.home() / ".cache" / "ganzoo" / "data"


@dataclass(frozen=True)
class DataRequest:
    """What the user asked for: where the files are, which split, at which size."""

    root: Path | None = None
    split: str = "train"
    download: bool = False
    image_size: int | None = None
    seed: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resolved_root(self) -> Path:
        return Path(self.root).expanduser() if self.root is not None else default_data_root()


@dataclass
class Batch:
    """One minibatch: samples, and for labelled data their class labels, for paired data the
    images they are made from (``condition``: a translation's source)."""

    x: Tensor
    labels: Tensor | None = None
    condition: Tensor | None = None

    @property
    def y(self) -> Tensor | None:
        """What the samples are conditioned on: the source images where given, else the labels."""
        return self.condition if self.condition is not None else self.labels


def epoch_permutation(n: int, seed: int, epoch: int) -> Tensor:
    """The example order of one epoch, a pure function of (seed, epoch)."""
    gen = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch)) % (2**63))
    return torch.randperm(n, generator=gen)


def check_batch_size(n: int, batch_size: int, world_size: int = 1) -> None:
    """Refuse a (global) batch larger than the dataset: training could not draw a single batch."""
    if batch_size * world_size > n:
        raise DataError(f"batch size {batch_size * world_size} is larger than the dataset ({n} examples)")


def index_batches(
    n: int, batch_size: int, seed: int, start: int = 0, rank: int = 0, world_size: int = 1
) -> Iterator[Tensor]:
    """Endless index batches (drop-last epochs), starting after ``start`` batches already drawn.

    With several processes each global batch of ``batch_size * world_size`` indices is split
    so process ``rank`` takes its own ``batch_size`` slice (what DistributedSampler does).
    """
    check_batch_size(n, batch_size, world_size)
    global_batch = batch_size * world_size
    per_epoch = n // global_batch
    position = start
    epoch, perm = -1, None
    while True:
        e, i = divmod(position, per_epoch)
        if e != epoch:
            epoch, perm = e, epoch_permutation(n, seed, e)
        begin = i * global_batch + rank * batch_size
        yield perm[begin : begin + batch_size]
        position += 1


class LoadedData(ABC):
    """A dataset ready for training: its facts and a batch iterator."""

    info: DataInfo

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def batches(
        self,
        batch_size: int,
        *,
        seed: int,
        start: int = 0,
        device: torch.device | str = "cpu",
        rank: int = 0,
        world_size: int = 1,
    ) -> Iterator[Batch]:
        """Endless training batches in the order of :func:`index_batches`."""

    @abstractmethod
    def iterate(self, batch_size: int, device: torch.device | str = "cpu") -> Iterator[Batch]:
        """One pass over the data in stored order (for reference statistics)."""

    def artifacts(self) -> dict[str, Tensor]:
        """Tensors to keep with a run so its scores can be recomputed (e.g. a synthetic oracle)."""
        return {}

    def subset(self, indices: Tensor) -> LoadedData:
        """The examples at ``indices`` only (``data.fraction``); in-memory data supports it."""
        raise DataError("data.fraction needs a dataset held in memory; this one is streamed from files")

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts about the data kept in the run's config (e.g. a vocabulary)."""
        return {}


class TensorData(LoadedData):
    """Data held in memory as one tensor: uint8 images (0..255, served as floats in [-1, 1]),
    or any other dtype served as stored (float images or points, integer token ids).

    Training batches are gathered by index on the training device: no loader, no workers.
    """

    def __init__(self, x: Tensor, labels: Tensor | None, info: DataInfo, condition: Tensor | None = None) -> None:
        if labels is not None and len(labels) != len(x):
            raise ValueError("labels and samples differ in length")
        if condition is not None and len(condition) != len(x):
            raise ValueError("conditions and samples differ in length")
        self.x = x
        self.labels = labels
        self.condition = condition
        self.info = info

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, indices: Tensor) -> TensorData:
        labels = self.labels[indices] if self.labels is not None else None
        condition = self.condition[indices] if self.condition is not None else None
        return TensorData(self.x[indices], labels, self.info, condition)

    def _convert(self, x: Tensor) -> Tensor:
        if x.dtype == torch.uint8:
            return x.float().div_(127.5).sub_(1.0)
        return x

    def _batch(self, x: Tensor, labels: Tensor | None, condition: Tensor | None, idx: Tensor | slice) -> Batch:
        return Batch(self._convert(x[idx]), labels[idx] if labels is not None else None,
                     self._convert(condition[idx]) if condition is not None else None)

    def batches(self, batch_size, *, seed, start=0, device="cpu", rank=0, world_size=1):
        x = self.x.to(device)
        labels = self.labels.to(device) if self.labels is not None else None
        condition = self.condition.to(device) if self.condition is not None else None
        pin = torch.device(device).type == "cuda"
        for idx in index_batches(len(x), batch_size, seed, start, rank, world_size):
            # from pinned memory the copy does not make the host wait for the GPU
            idx = idx.pin_memory().to(device, non_blocking=True) if pin else idx.to(device)
            yield self._batch(x, labels, condition, idx)

    def iterate(self, batch_size, device="cpu"):
        for begin in range(0, len(self.x), batch_size):
            part = slice(begin, begin + batch_size)
            labels = self.labels[part].to(device) if self.labels is not None else None
            condition = self.condition[part].to(device) if self.condition is not None else None
            yield Batch(self._convert(self.x[part].to(device)), labels,
                        self._convert(condition) if condition is not None else None)


UNPAIRED_SEED_OFFSET = 104_729
FRACTION_SEED_OFFSET = 7919


class UnpairedData(LoadedData):
    """Two image domains held in memory, drawn independently: translation data without pairs (CycleGAN).

    Each batch is ``Batch(x=images of domain B, condition=images of domain A)``, both in their own
    seeded order (domain A's seed is offset from B's), so no pair is ever fixed: the model cannot
    learn from a correspondence the data does not give. ``len`` is domain B's size (an epoch is one
    pass over B). uint8 images are served as floats in [-1, 1], as by :class:`TensorData`.
    """

    def __init__(self, a: Tensor, b: Tensor, info: DataInfo) -> None:
        if not len(a) or not len(b):
            raise DataError("unpaired translation data needs images in both domains")
        self.a, self.b, self.info = a, b, info

    def __len__(self) -> int:
        return len(self.b)

    def subset(self, indices: Tensor) -> UnpairedData:
        """``indices`` of domain B, and the same share of domain A (its first examples in a seeded order)."""
        keep = max(1, round(len(self.a) * len(indices) / len(self.b)))
        return UnpairedData(self.a[epoch_permutation(len(self.a), FRACTION_SEED_OFFSET, 0)[:keep].sort().values],
                            self.b[indices], self.info)

    @staticmethod
    def _convert(x: Tensor) -> Tensor:
        return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x

    def batches(self, batch_size, *, seed, start=0, device="cpu", rank=0, world_size=1):
        a, b = self.a.to(device), self.b.to(device)
        orders_b = index_batches(len(b), batch_size, seed, start, rank, world_size)
        orders_a = index_batches(len(a), batch_size, seed + UNPAIRED_SEED_OFFSET, start, rank, world_size)
        for idx_b, idx_a in zip(orders_b, orders_a, strict=False):
            yield Batch(self._convert(b[idx_b.to(device)]), None, self._convert(a[idx_a.to(device)]))

    def iterate(self, batch_size, device="cpu"):
        """One pass over domain A in stored order, with domain B's images at the same positions (cycled): the
        sources are what matters when translating; the two never correspond."""
        for begin in range(0, len(self.a), batch_size):
            idx = torch.arange(begin, min(begin + batch_size, len(self.a)))
            yield Batch(self._convert(self.b[idx % len(self.b)].to(device)), None, self._convert(self.a[idx].to(device)))


class _IndexSampler(torch.utils.data.Sampler):
    def __init__(self, batches: Iterator[Tensor]) -> None:
        self._batches = batches

    def __iter__(self):
        for idx in self._batches:
            yield idx.tolist()


def _ignore_stop_signals(worker_id: int) -> None:
    """Loader workers leave SIGINT / SIGTERM to the main process, which stops them after a clean save."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class StreamData(LoadedData):
    """Data read from disk on the fly through a torch Dataset yielding (sample, label)."""

    def __init__(self, dataset: Dataset, info: DataInfo, workers: int | None = None) -> None:
        self.dataset = dataset
        self.info = info
        self.workers = min(4, os.cpu_count() or 1) if workers is None else workers

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def _loader(self, batch_sampler: Any) -> DataLoader:
        return DataLoader(
            self.dataset,
            batch_sampler=batch_sampler,
            num_workers=self.workers,
            persistent_workers=False,
            worker_init_fn=_ignore_stop_signals if self.workers else None,
            # its own generator: creating a loader must not draw from the global RNG, which a
            # resumed run restores from its checkpoint (else resume would not be exact)
            generator=torch.Generator().manual_seed(0),
        )

    def _batch(self, item: Any, device: torch.device | str) -> Batch:
        x, labels = item
        has_labels = self.info.num_classes > 0
        return Batch(x.to(device), labels.to(device) if has_labels else None)

    def batches(self, batch_size, *, seed, start=0, device="cpu", rank=0, world_size=1):
        order = index_batches(len(self), batch_size, seed, start, rank, world_size)
        for item in self._loader(_IndexSampler(order)):
            yield self._batch(item, device)

    def iterate(self, batch_size, device="cpu"):
        n = len(self)
        sequential = [list(range(b, min(b + batch_size, n))) for b in range(0, n, batch_size)]
        for item in self._loader(sequential):
            yield self._batch(item, device)


Loader = Callable[[DataRequest], LoadedData]



def training_fraction(data: LoadedData, fraction: float, seed: int) -> LoadedData:
    """A seeded subset of ``fraction`` of the training examples (at least one; all at 1.0).

    The subset depends on ``seed`` alone (``data.fraction_seed``), not on the run's seed, so runs
    of several seeds train on the same images.
    """
    if fraction >= 1.0:
        return data
    keep = max(1, int(len(data) * fraction))
    order = epoch_permutation(len(data), seed + FRACTION_SEED_OFFSET, 0)[:keep].sort().values
    return data.subset(order)

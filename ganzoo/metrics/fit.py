"""Training a domain classifier for image scores (``ganzoo fit-extractor``), reproducibly from a seed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save as safetensors_bytes
from tqdm.auto import tqdm

from ganzoo.data.base import TensorData, epoch_permutation
from ganzoo.errors import DataError
from ganzoo.metrics.extractors import DomainCNN, cache_dir, extractor_name
from ganzoo.storage.checkpoint import atomic_write_bytes
from ganzoo.version import __version__

HOLDOUT_FRACTION = 0.2


@dataclass
class FitResult:
    """Where the weights went and how good the classifier is on held-out images."""

    path: Path
    accuracy: float
    heldout: str
    meta: dict[str, Any]


def _gather(data) -> tuple[torch.Tensor, torch.Tensor]:
    """All images (float, [-1, 1]) and labels of a loaded dataset."""
    if data.info.num_classes <= 0:
        raise DataError("fit-extractor needs a labelled dataset")
    xs, ys = [], []
    for batch in data.iterate(1024):
        xs.append(batch.x.float())
        ys.append(batch.labels)
    return torch.cat(xs), torch.cat(ys)


def _shift(x: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random translations by up to ``pad`` pixels (the only augmentation digits need)."""
    padded = F.pad(x, (pad, pad, pad, pad), value=-1.0)
    dx, dy = torch.randint(0, 2 * pad + 1, (2,), generator=gen).tolist()
    return padded[..., dy : dy + x.shape[-2], dx : dx + x.shape[-1]]


def accuracy(model: DomainCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of correctly classified images."""
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i : i + 512])[1].argmax(1) == y[i : i + 512]).sum()) for i in range(0, len(x), 512))
    return correct / len(x)


def fit_extractor(
    train: TensorData,
    heldout: TensorData | None,
    *,
    dataset: str,
    heldout_name: str = "held-out split",
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    out: Path | None = None,
    progress: bool | None = None,
) -> FitResult:
    """Train a DomainCNN on labelled images and save it with its held-out accuracy in the metadata.

    Without a held-out split, the last 20% of a seed's permutation of the training images is held out:
    the classifier never sees them in fitting. The file is named after the data (its identity, for a folder).
    """
    torch.manual_seed(seed)
    x, y = _gather(train)
    if heldout is None:
        order = epoch_permutation(len(x), seed, -1)
        cut = int(len(x) * (1 - HOLDOUT_FRACTION))
        x_test, y_test = x[order[cut:]], y[order[cut:]]
        x, y = x[order[:cut]], y[order[:cut]]
        heldout_name = (f"{HOLDOUT_FRACTION:.0%} of the training images, never used in fitting "
                        f"(the last {len(x_test)} of a seed-{seed} permutation)")
    else:
        x_test, y_test = _gather(heldout)
    channels, size = int(x.shape[1]), int(x.shape[-1])
    num_classes = int(train.info.num_classes)
    model = DomainCNN(channels, num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    steps_per_epoch = max(1, len(x) // batch_size)
    for epoch in tqdm(range(epochs), desc="fit-extractor", unit="epoch", disable=None if progress is None else not progress):
        model.train()
        order = epoch_permutation(len(x), seed, epoch)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            _, logits = model(_shift(x[idx], gen))
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        schedule.step()
    held_acc = accuracy(model, x_test, y_test)
    identity = train.info.extras.get("identity")
    name = extractor_name(dataset, identity)
    meta = {
        "name": name,
        "dataset": dataset,
        "identity": identity,
        "accuracy": round(held_acc, 5),
        "heldout": heldout_name,
        "heldout_size": len(x_test),
        "train_size": len(x),
        "channels": channels,
        "image_size": size,
        "num_classes": num_classes,
        "width": 32,
        "epochs": epochs,
        "seed": seed,
        "ganzoo_version": __version__,
    }
    path = Path(out) if out is not None else cache_dir() / "extractors" / f"{name}.safetensors"
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, safetensors_bytes(state, metadata={"ganzoo_extractor": json.dumps(meta)}))
    return FitResult(path, held_acc, heldout_name, meta)

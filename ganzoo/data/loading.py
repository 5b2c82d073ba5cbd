"""Loading a run's dataset from its config: used by the trainer, the metrics and benchmarking alike."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ganzoo.config import RunConfig
from ganzoo.data.base import DataRequest, LoadedData, TensorData, UnpairedData
from ganzoo.registry import Registry


def data_request(config: RunConfig, split: str | None = None) -> DataRequest:
    """What the ``data`` section asks for (optionally another split, for reference statistics)."""
    data = config.data
    return DataRequest(
        root=Path(data["data_root"]) if data.get("data_root") else None,
        split=split or data["split"],
        download=bool(data.get("download")),
        image_size=data.get("image_size"),
        seed=int(config.trainer["seed"]),
        options=data,
    )


def load_data(registry: Registry, config: RunConfig, split: str | None = None) -> LoadedData:
    """Load the configured dataset (optionally another split); with ``data.pairing = "unpaired"`` the training
    split of paired translation data becomes two independently shuffled domains."""
    data = registry.dataset(config.data["dataset"]).load(data_request(config, split))
    training = split is None or split == config.data["split"]
    if training and config.data.get("pairing") == "unpaired" and isinstance(data, TensorData) and data.condition is not None:
        info = dataclasses.replace(data.info, extras={**data.info.extras, "paired": False})
        return UnpairedData(data.condition, data.x, info)
    return data

"""Loading a run's dataset from its config: used by the trainer, the metrics and benchmarking alike."""

from __future__ import annotations

from pathlib import Path

from ganzoo.config import RunConfig
from ganzoo.data.base import DataRequest, LoadedData
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
    """Load the configured dataset (optionally another split)."""
    return registry.dataset(config.data["dataset"]).load(data_request(config, split))

"""Resolving a run's configuration for a model (and its dataset) from the registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo.config.run_config import Declarations, RunConfig, declare, resolve_options, stored_values
from ganzoo.data.base import MODALITIES, PIXEL_MODALITIES
from ganzoo.errors import ConfigError, DataError
from ganzoo.registry import Registry

if TYPE_CHECKING:
    from ganzoo.spec import DatasetSpec, ModelSpec

DEFAULT_DATASETS = {"image": "digits", "points": "ring", "translation": "fonts"}
DATASET_KEYS = ("dataset", "data.dataset")


def _named_dataset(values: Mapping[str, Any] | None) -> str | None:
    for key in DATASET_KEYS:
        if values and values.get(key):
            return str(values[key])
    return None


def dataset_name(spec: ModelSpec, user: Mapping[str, Any], stored: Mapping[str, Any] | None = None) -> str:
    """The dataset a run uses: the user's, else the stored run's, else the variant's default, else its modality's."""
    name = (_named_dataset(user) or _named_dataset(stored) or _named_dataset(spec.overrides)
            or DEFAULT_DATASETS.get(spec.modalities[0]))
    if not name:
        raise ConfigError(f"model {spec.name!r} has no default dataset; pass --dataset")
    return name


def run_tags(spec: ModelSpec, dataset: DatasetSpec) -> tuple[set[str], dict[str, str]]:
    """The tags that hold for a run of ``spec`` on ``dataset``, and a reason for each that does not."""
    tags = {dataset.modality}
    if dataset.modality in PIXEL_MODALITIES:
        tags.add("pixels")
    if spec.has_discriminator:
        tags.add("discriminator")
    if dataset.reads_files:
        tags.add("files")
    reasons = {
        "discriminator": f"model {spec.name!r} has no discriminator",
        "files": f"dataset {dataset.name!r} reads no files",
        "pixels": f"dataset {dataset.name!r} holds {dataset.modality} data and this option is for images",
        **{m: f"dataset {dataset.name!r} holds {dataset.modality} data and this option is for {m} data"
           for m in MODALITIES if m != dataset.modality},
    }
    return tags, reasons


def declarations(spec: ModelSpec, dataset: DatasetSpec) -> Declarations:
    """Every option a run of ``spec`` on ``dataset`` has."""
    tags, reasons = run_tags(spec, dataset)
    return declare(spec.options, dataset.options, tags, reasons,
                   hint=f"ganzoo info {spec.name} lists the options of {spec.name} on {dataset.name}")


def unlabelled_message(spec: ModelSpec, dataset: str) -> str:
    """The one line for a conditional model asked to train on data without class labels."""
    return (f"model {spec.name!r} is conditional and needs class labels, but dataset {dataset!r} has none; "
            "choose a labelled dataset (ganzoo list datasets)")


def resolve_run(
    registry: Registry, model: str, user: Mapping[str, Any], stored: Mapping[str, Any] | None = None,
) -> tuple[ModelSpec, RunConfig]:
    """The variant's spec and its resolved, checked configuration.

    ``stored`` is a configuration read back from a run (sectioned, or flat from ganzoo 0.1);
    ``user`` values override it and must all be options this run has.
    """
    spec = registry.model(model)
    stored = stored_values(stored) if stored else None
    dataset = registry.dataset(dataset_name(spec, user, stored))
    if dataset.modality not in spec.modalities:
        raise DataError(
            f"model {spec.name!r} trains on {'/'.join(spec.modalities)} data, but dataset "
            f"{dataset.name!r} holds {dataset.modality} data"
        )
    if spec.conditional and not dataset.labelled:
        raise DataError(unlabelled_message(spec, dataset.name))
    config = resolve_options(declarations(spec, dataset), spec.overrides, user, stored)
    config.data["dataset"] = dataset.name
    if spec.phases is None:
        for key in ("steps", "d_steps"):
            if key in config.trainer and config.trainer[key] is None:
                raise ConfigError(f"{key} must be a whole number for model {spec.name!r}")
    if spec.has_discriminator:
        registry.loss(config.trainer["loss"])  # unknown loss -> clear error before any work
    if config.data.get("data_root"):  # absolute, so a resume from another directory finds the data
        config.data["data_root"] = str(Path(config.data["data_root"]).expanduser().absolute())
    return spec, config

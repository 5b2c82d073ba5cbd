"""The Python API: the same functions the CLI calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.checking import CheckReport, check
from ganzoo.errors import unknown_name
from ganzoo.plugins import get_plugins, get_registry
from ganzoo.sampling import load, load_run, sample
from ganzoo.scaffold import new_plugin
from ganzoo.spec import spec_summary
from ganzoo.trainer.loop import RunResult, train

__all__ = [
    "CheckReport", "RunResult", "check", "evaluate", "fit_extractor", "info", "list_entries", "load", "load_run",
    "new_plugin", "plugin_problems", "plugins", "sample", "train",
]

KINDS = ("models", "losses", "datasets", "metrics")


def _describe(kind: str, entry: Any) -> dict[str, Any]:
    value = entry.value
    row = {
        "name": entry.name,
        "description": value.description,
        "plugin": entry.source.plugin,
        "distribution": entry.source.distribution,
        "version": entry.source.version,
    }
    if kind == "models":
        row["modality"] = list(value.modalities)
        row["paper"] = value.paper
        row["conditional"] = value.conditional
    elif kind == "datasets":
        row["modality"] = value.modality
        row["labelled"] = value.labelled
    elif kind == "metrics":
        row["modality"] = list(value.modalities)
        row["better"] = dict(value.better)
    return row


def list_entries(kind: str = "models") -> list[dict[str, Any]]:
    """Registered models, losses or datasets, each with its source plugin and version."""
    if kind not in KINDS:
        raise unknown_name("kind", kind, KINDS)
    table = get_registry().table(kind)
    return [_describe(kind, entry) for entry in table]


def info(name: str) -> dict[str, Any]:
    """Everything about one model (defaults, paper, modality), loss or dataset."""
    registry = get_registry()
    for kind in KINDS:
        table = registry.table(kind)
        if name in table.entries or name in table.conflicts:
            entry = table.get(name)
            out = {"kind": "loss" if kind == "losses" else kind[:-1], **_describe(kind, entry)}
            if kind == "models":
                from ganzoo.config import TRAINER_OPTIONS

                summary = spec_summary(entry.value)
                trainer_defaults = {k: o.default for k, o in TRAINER_OPTIONS.items()}
                out["defaults"] = {**trainer_defaults, **summary["defaults"]}
                out["bounds"] = summary["bounds"]
                out["custom_train_step"] = summary["custom_train_step"]
            elif kind == "datasets":
                out["source"] = entry.value.source
                out["options"] = dict(entry.value.defaults)
            elif kind == "losses":
                out["paper"] = entry.value.paper
            return out
    everything = [n for kind in KINDS for n in registry.table(kind).names()]
    raise unknown_name("name", name, everything)


def plugins() -> list[dict[str, Any]]:
    """Every installed plugin: distribution, version, hooks, registered names and status (loaded / failed / disabled)."""
    return [record.to_json() for record in get_plugins().records]


def plugin_problems() -> list[str]:
    """One line per plugin that failed and per name that two plugins registered."""
    return get_plugins().problems()


def evaluate(path: str | Path, options: Any = None, device: str = "cpu", **kwargs: Any) -> Any:
    """Score a run directory or checkpoint; ``options`` is an EvalOptions, or pass its fields as keywords.

    Returns an EvalReport: ``.scores`` by name, ``.protocols`` (how each was computed), ``.better``.
    """
    from ganzoo.metrics.runner import EvalOptions, evaluate_run, parse_metric_names

    if options is None:
        if "metrics" in kwargs:
            kwargs["metrics"] = parse_metric_names(kwargs["metrics"])
        options = EvalOptions(**kwargs)
    return evaluate_run(path, options, device)


def fit_extractor(
    dataset: str,
    *,
    data_root: str | Path | None = None,
    split: str = "train",
    heldout_split: str | None = "test",
    image_size: int | None = None,
    epochs: int = 30,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Any:
    """Train the domain classifier `ganzoo-DATASET` used for image scores; returns a FitResult."""
    from ganzoo.data.base import DataRequest
    from ganzoo.errors import DataError
    from ganzoo.metrics.fit import fit_extractor as fit

    spec = get_registry().dataset(dataset)
    root = Path(data_root) if data_root else None
    train_data = spec.load(DataRequest(root=root, split=split, image_size=image_size, options=dict(spec.defaults)))
    heldout = None
    if heldout_split and heldout_split != split:
        try:
            heldout = spec.load(DataRequest(root=root, split=heldout_split, image_size=image_size,
                                            options=dict(spec.defaults)))
        except DataError:
            heldout = None
    return fit(train_data, heldout, dataset=dataset, heldout_name=f"{dataset}:{heldout_split}", epochs=epochs, seed=seed,
               out=Path(out) if out else None, progress=progress)

"""The Python API: the same functions the CLI calls."""

from __future__ import annotations

from typing import Any

from ganzoo.checking import CheckReport, check
from ganzoo.errors import unknown_name
from ganzoo.plugins import get_plugins, get_registry
from ganzoo.sampling import load, load_run, sample
from ganzoo.scaffold import new_plugin
from ganzoo.spec import spec_summary
from ganzoo.trainer.loop import RunResult, train

__all__ = [
    "CheckReport", "RunResult", "check", "info", "list_entries", "load", "load_run", "new_plugin", "plugin_problems",
    "plugins", "sample", "train",
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

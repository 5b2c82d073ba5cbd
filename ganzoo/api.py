"""The Python API: the same functions the CLI calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.errors import unknown_name
from ganzoo.plugins import get_plugins, get_registry
from ganzoo.sampling import load, load_run, sample
from ganzoo.spec import spec_summary
from ganzoo.trainer.loop import RunResult, train

__all__ = ["RunResult", "bench", "check_suite", "evaluate", "fit_extractor", "info", "leaderboard", "list_entries", "load",
           "load_run", "plugins", "sample", "train"]

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
    """Every installed plugin: distribution, version, hooks and status (loaded / failed / disabled)."""
    return [record.to_json() for record in get_plugins().records]


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


def check_suite(suite: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Validate a benchmark suite fully and say what a bench into ``out`` would run (nothing is run)."""
    from ganzoo.benchmarking.runner import plan
    from ganzoo.benchmarking.suite import load_suite

    def total_steps(model: str, config: dict[str, Any]) -> int:
        return sum(phase.steps for phase in get_registry().model(model).schedule(config))

    parsed, resolved = load_suite(suite)
    todo, done = plan(parsed, Path(out)) if out is not None else (parsed.runs(), [])
    pending = {run.run_id for run in todo}
    return {
        "suite": parsed.name,
        "description": parsed.description,
        "entries": [{"name": e.name, "model": e.model, "dataset": resolved[e.name]["dataset"],
                     "loss": resolved[e.name]["loss"], "steps": total_steps(e.model, resolved[e.name]),
                     "seeds": list(e.seeds),
                     "protocol": e.protocol.to_json(), "skipped": parsed.skipped.get(e.name)} for e in parsed.entries],
        "runs": [{"run_id": run.run_id,
                  "state": "skipped" if run.entry in parsed.skipped else ("to run" if run.run_id in pending else "done")}
                 for run in parsed.runs()],
    }


def bench(
    suite: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    retry_failed: bool = True,
    entries: list[str] | None = None,
    progress: bool | None = None,
) -> Any:
    """Run every (entry, seed) of a suite into ``out`` (resumable); rows go to ``out/results.jsonl``.

    Returns a BenchSummary of the rows this call wrote. ``progress``: None shows a bar on terminals.
    """
    from ganzoo.benchmarking.progress import Progress
    from ganzoo.benchmarking.runner import run_suite

    display = Progress(progress)
    try:
        return run_suite(suite, out, jobs=jobs, time_limit=time_limit, retry_failed=retry_failed, entries=entries,
                         on_event=display)
    finally:
        display.close()


def leaderboard(results: str | Path, fmt: str = "md") -> str:
    """The leaderboard of a bench directory as Markdown, HTML, CSV or JSON text (deterministic)."""
    from ganzoo.benchmarking.leaderboard import render

    return render(Path(results), fmt)

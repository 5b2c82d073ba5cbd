"""The Python API: the same functions the CLI calls."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ganzoo.checking import CheckReport, check
from ganzoo.config import as_option
from ganzoo.configure import DEFAULT_DATASETS, declarations
from ganzoo.errors import unknown_name
from ganzoo.plugins import get_plugins, get_registry
from ganzoo.sampling import load, load_run, sample
from ganzoo.scaffold import new_plugin
from ganzoo.spec import spec_summary
from ganzoo.trainer.loop import RunResult
from ganzoo.training import train
from ganzoo.translating import translate

__all__ = [
    "CheckReport", "RunResult", "arithmetic", "bench", "check", "check_suite", "demo_toy1d", "evaluate", "fit_extractor",
    "info", "interpolate", "leaderboard", "list_entries", "load", "load_run", "neighbours", "new_plugin", "plot",
    "list_plugins", "plugin_problems", "sample", "train", "translate",
]

KINDS = ("models", "losses", "datasets", "metrics", "executors", "extensions")


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


def _options_json(options: dict[str, Any]) -> dict[str, Any]:
    return {name: as_option(opt).to_json() for name, opt in options.items()}


def info(name: str) -> dict[str, Any]:
    """Everything about one model (its options by section, paper, modality), loss, dataset, metric or executor.

    A model's options are those of a run on its default dataset: options that do not apply to
    it (image options of a sequence model, D options of a model without one) are left out.
    """
    registry = get_registry()
    for kind in KINDS:
        table = registry.table(kind)
        if name in table.entries or name in table.conflicts:
            entry = table.get(name)
            out = {"kind": "loss" if kind == "losses" else kind[:-1], **_describe(kind, entry)}
            if kind == "models":
                spec = entry.value
                summary = spec_summary(spec)
                out["discriminator"] = summary["discriminator"]
                out["training"] = summary["training"]
                dataset_name = spec.overrides.get("dataset") or DEFAULT_DATASETS.get(spec.modalities[0])
                if dataset_name in registry.datasets:
                    from ganzoo.configure import resolve_run

                    _, config = resolve_run(registry, spec.name, {})
                    declared = declarations(spec, registry.dataset(config["dataset"])).sections
                    out["defaults"] = {key.partition(".")[2]: _plain(value) for key, value in config.items()}
                    out["options"] = {section: {k: {**declared[section][k].to_json(), "default": _plain(v)}
                                                for k, v in config.section(section).items()}
                                      for section in ("trainer", "model", "data", "eval")}
            elif kind == "datasets":
                out["source"] = entry.value.source
                out["reads_files"] = entry.value.reads_files
                out["options"] = _options_json(dict(entry.value.options))
            elif kind == "losses":
                out["paper"] = entry.value.paper
            elif kind == "executors":
                out["options"] = _options_json(dict(entry.value.options))
            return out
    everything = [n for kind in KINDS for n in registry.table(kind).names()]
    raise unknown_name("name", name, everything)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def list_plugins() -> list[dict[str, Any]]:
    """Every installed plugin: distribution, version, hooks, registered names and status (loaded / failed / disabled)."""
    return [record.to_json() for record in get_plugins().records]


def plugin_problems() -> list[str]:
    """One line per plugin that failed and per name that two plugins registered."""
    return get_plugins().problems()


def evaluate(path: str | Path, protocol: Any = None, device: str = "cpu", *, progress: bool | None = False,
             cache_dir: str | None = None, weights: str = "auto", temperature: float = 1.0, **fields: Any) -> Any:
    """Score a run directory or checkpoint under an EvalProtocol (or pass its fields as keywords:
    ``metrics``, ``num_samples``, ``feature_extractor``, ...). ``weights``: auto (the EMA weights where
    the run kept them), raw or ema; ``temperature``: the softmax temperature of a model that samples tokens.

    Returns an EvalReport: ``.scores`` by name, ``.protocols`` (how each was computed), ``.better``,
    ``.weights`` (which weights were scored), ``.temperature`` (for models that sample tokens).
    """
    from ganzoo.evaluation import evaluate_run
    from ganzoo.metrics.protocol import EvalProtocol

    protocol = protocol if protocol is not None else EvalProtocol(**fields)
    return evaluate_run(path, protocol, device, progress=progress, cache_dir=cache_dir, weights=weights,
                        temperature=temperature)


def fit_extractor(
    dataset: str,
    *,
    data_root: str | Path | None = None,
    split: str = "train",
    heldout_split: str | None = "auto",
    image_size: int | None = None,
    epochs: int = 30,
    seed: int = 0,
    out: str | Path | None = None,
    progress: bool | None = None,
) -> Any:
    """Train the domain classifier `ganzoo-DATASET` (for a folder `ganzoo-folder-<name>-<digest8>`) used for image
    scores; returns a FitResult.

    ``heldout_split``: ``auto`` for the dataset's own held-out split, a split name, or None. Without one (None, a
    dataset without a separate held-out split such as a folder, or a held-out split missing on disk) a seeded 20% of
    ``split`` is held out from fitting instead.
    """
    from ganzoo.data.base import DataRequest
    from ganzoo.errors import ConfigError, DataError
    from ganzoo.metrics.fit import fit_extractor as fit

    spec = get_registry().dataset(dataset)
    if heldout_split == "auto":
        heldout_split = spec.heldout_split
    elif heldout_split is not None and spec.heldout_split is None:
        raise ConfigError(f"{dataset} has no separate held-out split (every split holds the same images); "
                          "leave --heldout-split out and a seeded 20% of them is held out from fitting")
    root = Path(data_root) if data_root else None
    defaults = {key: as_option(opt).default for key, opt in spec.options.items()}
    train_data = spec.load(DataRequest(root=root, split=split, image_size=image_size, options=defaults))
    heldout = None
    if heldout_split and heldout_split != split:
        try:
            heldout = spec.load(DataRequest(root=root, split=heldout_split, image_size=image_size, options=defaults))
        except DataError:
            heldout = None
    return fit(train_data, heldout, dataset=dataset, heldout_name=f"{dataset}:{heldout_split}", epochs=epochs, seed=seed,
               out=Path(out) if out else None, progress=progress)


# ---- analyses: the pictures behind the classic GAN figures -------------------------------------------------------


def _analysis_path(loaded: Any, out: str | Path | None, name: str, folder: str = "analysis") -> Path:
    """``out``, else RUN/<folder>/<name> (./<name> for a checkpoint outside a run directory)."""
    if out is not None:
        return Path(out)
    base = loaded.run_dir
    return base / folder / name if base is not None else Path(name)


def _run_title(what: str, loaded: Any) -> str:
    where = loaded.run_dir.name if loaded.run_dir is not None else loaded.checkpoint.path.name
    return f"{what}: {where} ({loaded.spec.name} on {loaded.config['dataset']}, step {loaded.step})"


def demo_toy1d(out: str | Path = "runs/toy1d", *, seed: int = 0, train_steps: int | None = None,
               frames: int | None = None) -> Any:
    """Train the 1-D GAN of Goodfellow et al. 2014, Figure 1 and draw it: OUT/toy1d-stages.png (the four
    stages) and OUT/toy1d.gif (the whole game). Returns a Toy1DResult (``.stages``, ``.frames``, ``.files``)."""
    from dataclasses import replace

    from ganzoo.analysis.toy1d import Toy1DConfig, run_toy1d
    from ganzoo.analysis.toy1d_figure import save_animation, save_strip

    config = Toy1DConfig(seed=seed)
    if train_steps is not None:
        config = replace(config, train_steps=train_steps)
    if frames is not None:
        config = replace(config, frames=frames)
    started = time.perf_counter()
    result = run_toy1d(config)
    out = Path(out)
    result.files["stages"] = str(save_strip(result, out / "toy1d-stages.png"))
    result.files["animation"] = str(save_animation(result, out / "toy1d.gif"))
    result.seconds = time.perf_counter() - started
    return result


def neighbours(path: str | Path, *, num_samples: int = 500, show: int = 12, seed: int = 0,
               heldout_split: str | None = "test", feature_extractor: str = "auto", out: str | Path | None = None,
               device: str = "cpu") -> Any:
    """Nearest training images of generated samples, in pixels and in the domain classifier's features, against
    held-out real images' (Goodfellow et al. 2014, Figure 2). Returns a NeighboursReport; ``.path`` is the figure."""
    from ganzoo.analysis.neighbours import find_neighbours, save_neighbours

    loaded = load_run(path, device)
    report, shown = find_neighbours(loaded, num_samples=num_samples, show=show, seed=seed, heldout_split=heldout_split,
                                    feature_extractor=feature_extractor)
    target = _analysis_path(loaded, out, "neighbours.png")
    report.path = save_neighbours(report, shown, target, _run_title("nearest training neighbours", loaded))
    return report


def interpolate(path: str | Path, *, pairs: int = 4, steps: int = 10, seed: int = 0, label: int | None = None,
                out: str | Path | None = None, device: str = "cpu") -> Any:
    """Lerp and slerp rows between random latent pairs. Returns an Interpolation; ``.path`` is the figure."""
    from ganzoo.analysis.latent import interpolate as walk
    from ganzoo.analysis.latent import save_interpolation

    loaded = load_run(path, device)
    result = walk(loaded, pairs=pairs, steps=steps, seed=seed, label=label)
    target = _analysis_path(loaded, out, f"interpolate-seed{seed}.png", folder="samples")
    result.path = save_interpolation(result, target, _run_title("latent interpolation", loaded))
    return result


def arithmetic(path: str | Path, expression: str | None = None, *, k: int = 3, pool: int = 2000, variants: int = 8,
               seed: int = 0, label: int | None = None, feature_extractor: str = "auto", out: str | Path | None = None,
               device: str = "cpu") -> Any:
    """Latent vector arithmetic (Radford et al. 2015): concepts named by class and pixel properties (see
    ganzoo.analysis.concepts), k latents averaged per concept. Returns an ArithmeticResult; ``.path`` is the figure."""
    from ganzoo.analysis.arithmetic import DEFAULT_EXPRESSION, latent_arithmetic, save_arithmetic

    loaded = load_run(path, device)
    result = latent_arithmetic(loaded, expression or DEFAULT_EXPRESSION, k=k, pool=pool, variants=variants, seed=seed,
                               label=label, feature_extractor=feature_extractor)
    target = _analysis_path(loaded, out, "arithmetic.png")
    result.path = save_arithmetic(result, target, _run_title("latent arithmetic", loaded))
    return result


def plot(path: str | Path, out: str | Path | None = None) -> Path:
    """Training curves of a run (losses, D(x), D(G(z)), scores) as a PNG; default RUN/analysis/curves.png."""
    from ganzoo.analysis.curves import plot_curves

    return plot_curves(path, out)[0]


def sweep_temperatures(path: str | Path, temperatures: list[float], protocol: Any = None, device: str = "cpu", *,
                       weights: str = "auto", out: str | Path | None = None, **fields: Any) -> Any:
    """Score a run of a model that samples tokens at each temperature under one protocol (or its fields as
    keywords) and write the curve (default RUN/temperature-sweep.json); returns (Sweep, path)."""
    from ganzoo.metrics.protocol import EvalProtocol
    from ganzoo.sweeping import sweep_temperatures as sweep

    protocol = protocol if protocol is not None else EvalProtocol(**fields)
    return sweep(path, temperatures, protocol, device, weights=weights, out=out)


def plot_quality_diversity(paths: list[str | Path], out: str | Path | None = None, *, names: list[str] | None = None,
                           quality: str | None = None, diversity: str | None = None) -> Path:
    """Quality against diversity of several runs' temperature sweeps on one figure; ``out`` defaults to
    RUN/analysis/quality-diversity.png for one run and must be given for several."""
    from ganzoo.analysis.quality_diversity import plot_quality_diversity as draw
    from ganzoo.errors import ConfigError

    if out is None:
        if len(paths) != 1 or not Path(paths[0]).is_dir():
            raise ConfigError("say where the figure goes with --out (several runs have no one folder to put it in)")
        out = Path(paths[0]) / "analysis" / "quality-diversity.png"
    return draw(paths, out, names=names, quality=quality, diversity=diversity)


def check_suite(suite: str | Path, out: str | Path | None = None, entries: list[str] | None = None,
                seeds: list[int] | None = None) -> dict[str, Any]:
    """Validate a benchmark suite fully and say what a bench into ``out`` would run (nothing is run)."""
    from ganzoo.benchmarking.runner import plan, select
    from ganzoo.benchmarking.suite import load_suite

    def total_steps(model: str, config: Any) -> int:
        return sum(phase.steps for phase in get_registry().model(model).schedule(config))

    parsed, resolved = load_suite(suite)
    parsed = select(parsed, entries, seeds)
    todo, done = plan(parsed, Path(out)) if out is not None else (parsed.runs(), [])
    pending = {run.run_id for run in todo}
    return {
        "suite": parsed.name,
        "description": parsed.description,
        "entries": [{"name": e.name, "model": e.model, "dataset": resolved[e.name]["dataset"],
                     "loss": resolved[e.name].get("loss"), "steps": total_steps(e.model, resolved[e.name]),
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
    seeds: list[int] | None = None,
    executor: str = "local",
    executor_options: dict[str, Any] | None = None,
    progress: bool | None = None,
) -> Any:
    """Run every (entry, seed) of a suite into ``out`` (resumable) on ``executor``; rows go to ``out/results.jsonl``.

    ``executor_options`` override the suite's ``[executor.NAME]`` table. Returns a BenchSummary of the
    rows this call wrote. ``progress``: None shows a bar on terminals.
    """
    from ganzoo.benchmarking.progress import Progress
    from ganzoo.benchmarking.runner import run_suite

    display = Progress(progress)
    try:
        return run_suite(suite, out, jobs=jobs, time_limit=time_limit, retry_failed=retry_failed, entries=entries,
                         seeds=seeds, executor=executor, executor_settings=executor_options, on_event=display)
    finally:
        display.close()


def leaderboard(results: str | Path, fmt: str = "md") -> str:
    """The leaderboard of a bench directory as Markdown, HTML, CSV or JSON text (deterministic)."""
    from ganzoo.benchmarking.formats import render

    return render(Path(results), fmt)

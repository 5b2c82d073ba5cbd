"""Benchmark suites: TOML files that say what to train, on what data, for how long, and how to score it.

    name = "cpu"                       # optional; default: the file's stem
    description = "..."
    seeds = [0, 1, 2]                  # defaults for every entry (each may override)
    steps = 2000
    time_limit = 1800                  # seconds per run (optional)
    [executor.ray]                     # options of an executor, used when the suite runs on it
    cpus = 2
    [options]                          # trainer options / hyper-parameters for every entry
    device = "cpu"
    [protocol]                         # how every entry is scored
    num_samples = 2500

    [[entry]]
    name = "vanilla-ring"              # optional; default "<model>-<dataset>"
    model = "vanilla"                  # any registered variant, built-in or third-party
    dataset = "ring"
    loss = "nonsaturating"             # optional
    optional = false                   # true: skip (not fail) when the dataset is absent
    [entry.options]
    g_hidden = 400
    [entry.protocol]
    metrics = ["modes", "high_quality", "reverse_kl"]

An entry of a model that samples tokens may set ``temperature = 0.7`` (default 1): its runs are scored at
that softmax temperature. Like ``weights`` it is a setting of the entry, not of the protocol: the row
records it and ranks in the same table as rows at other temperatures.

:func:`parse_suite` checks the structure alone; :func:`validate_suite` checks every name and value
against the registry (models, datasets, losses, options and their ranges, metrics, feature
extractors), so a mistake stops the suite before anything runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError, DataError, GanzooError
from ganzoo.metrics.protocol import EvalProtocol
from ganzoo.nets.base import check_temperature, temperature_keywords

SUITE_KEYS = ("name", "description", "seeds", "steps", "time_limit", "options", "protocol", "entry", "executor")
ENTRY_KEYS = ("name", "description", "model", "dataset", "loss", "seeds", "steps", "time_limit", "options", "protocol",
              "optional", "weights", "temperature")
WEIGHT_CHOICES = ("auto", "raw", "ema")
PROTOCOL_KEYS = ("metrics", "num_samples", "feature_extractor", "inception_weights", "reference_split", "num_real",
                 "seed", "batch_size", "parzen_bandwidth")
RESERVED_OPTIONS = {"dataset": "dataset", "loss": "loss", "steps": "steps", "seed": "seeds"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_SEEDS = (0,)


class SuiteError(ConfigError):
    """A suite file that cannot be run as written."""


@dataclass(frozen=True)
class RunSpec:
    """One (entry, seed): everything a worker needs to train and score it."""

    run_id: str
    entry: str
    seed: int
    model: str
    options: Mapping[str, Any]
    """Trainer options and hyper-parameters as the suite gives them, with ``seed``."""
    protocol: EvalProtocol
    time_limit: float | None = None
    optional: bool = False
    weights: tuple[str, ...] = ("auto",)
    """Generator weights to score, each its own leaderboard row: auto, raw, ema."""
    temperature: float = 1.0
    """The softmax temperature a model that samples tokens is scored at."""

    @property
    def fingerprint(self) -> str:
        """Identifies what is asked (model, options, protocol): a finished run with another fingerprint is redone."""
        asked = {"model": self.model, "options": dict(self.options), "protocol": self.protocol.to_json()}
        if self.weights != ("auto",):
            asked["weights"] = list(self.weights)
        if self.temperature != 1.0:
            asked["temperature"] = self.temperature
        text = json.dumps(asked, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """A variant on a dataset with its overrides, seeds, budget and protocol."""

    name: str
    model: str
    options: Mapping[str, Any]
    protocol: EvalProtocol
    seeds: tuple[int, ...]
    description: str = ""
    time_limit: float | None = None
    optional: bool = False
    weights: tuple[str, ...] = ("auto",)
    temperature: float = 1.0

    def runs(self) -> list[RunSpec]:
        return [RunSpec(f"{self.name}-seed{seed}", self.name, seed, self.model, {**self.options, "seed": seed},
                        self.protocol, self.time_limit, self.optional, self.weights, self.temperature)
                for seed in self.seeds]


@dataclass(frozen=True)
class Suite:
    """A parsed suite: its entries, in file order."""

    name: str
    source: str
    entries: tuple[Entry, ...]
    description: str = ""
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Optional entries whose data is absent here, with the reason (filled by :func:`check_data`)."""
    executors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``[executor.NAME]`` tables: options for each executor the suite may run on (checked when it is chosen)."""

    def runs(self) -> list[RunSpec]:
        """Every (entry, seed): the first seed of every entry (in file order), then the second, and so on,
        so a suite stopped early still covers every entry."""
        by_seed_position = [(position, order, run) for order, entry in enumerate(self.entries)
                            for position, run in enumerate(entry.runs())]
        return [run for _, _, run in sorted(by_seed_position, key=lambda item: item[:2])]


# ---- structure -----------------------------------------------------------------------------------
class _Checker:
    """Type checks that name the place of a mistake."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> SuiteError:
        return SuiteError(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a table, got {_kind(value)}")
        return value

    def keys(self, data: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
        from ganzoo.errors import unknown_name

        for key in data:
            if key not in allowed:
                raise self.fail(where, str(unknown_name("key", key, allowed)))

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"must be a non-empty string, got {_kind(value)}")
        return value

    def integer(self, value: Any, where: str, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a whole number, got {_kind(value)}")
        if value < low:
            raise self.fail(where, f"must be at least {low}, got {value}")
        return value

    def seconds(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
            raise self.fail(where, f"must be a positive number of seconds, got {_kind(value)}")
        return float(value)

    def seeds(self, value: Any, where: str) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"must be a non-empty list of whole numbers, got {_kind(value)}")
        seeds = tuple(self.integer(v, where, 0) for v in value)
        if len(set(seeds)) != len(seeds):
            raise self.fail(where, f"lists a seed twice: {list(seeds)}")
        return seeds

    def options(self, value: Any, where: str) -> dict[str, Any]:
        options = self.table(value, where)
        for key, item in options.items():
            if isinstance(item, dict):
                raise self.fail(f"{where}.{key}", "must be a value, not a table")
            if key in RESERVED_OPTIONS:
                raise self.fail(f"{where}.{key}", f"give it as the entry's (or suite's) `{RESERVED_OPTIONS[key]}`")
        return options

    def protocol(self, value: Any, where: str) -> dict[str, Any]:
        data = self.table(value, where)
        self.keys(data, PROTOCOL_KEYS, where)
        out: dict[str, Any] = {}
        for key, item in data.items():
            place = f"{where}.{key}"
            if key == "metrics":
                names = item.split(",") if isinstance(item, str) else item
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise self.fail(place, f"must be a list of metric names, got {_kind(item)}")
                names = [n.strip() for n in names if n.strip()]
                if len(set(names)) != len(names):
                    raise self.fail(place, f"names a metric twice: {names}")
                out[key] = tuple(names) if names else None
            elif key in ("num_samples", "num_real"):
                out[key] = self.integer(item, place, 2)
            elif key == "batch_size":
                out[key] = self.integer(item, place, 1)
            elif key == "seed":
                out[key] = self.integer(item, place, 0)
            elif key == "parzen_bandwidth":
                if isinstance(item, bool) or not isinstance(item, (int, float)) or not item > 0:
                    raise self.fail(place, f"must be a positive number, got {item!r}")
                out[key] = float(item)
            else:
                out[key] = self.string(item, place)
        return out


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Parse and structurally check a suite's TOML text (no registry needed)."""
    check = _Checker(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise check.fail("", f"not valid TOML: {exc}") from None
    check.keys(data, SUITE_KEYS, "")
    name = check.string(data["name"], "name") if "name" in data else Path(source).stem or "suite"
    if not NAME.match(name):
        raise check.fail("name", f"use letters, digits, '.', '_' and '-' only, got {name!r}")
    description = check.string(data["description"], "description") if "description" in data else ""
    seeds = check.seeds(data["seeds"], "seeds") if "seeds" in data else DEFAULT_SEEDS
    steps = check.integer(data["steps"], "steps", 1) if "steps" in data else None
    time_limit = check.seconds(data["time_limit"], "time_limit") if "time_limit" in data else None
    options = check.options(data.get("options", {}), "options")
    protocol = check.protocol(data.get("protocol", {}), "protocol")
    raw_entries = data.get("entry")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise check.fail("", "has no [[entry]] tables: nothing to run")
    entries = []
    for i, raw in enumerate(raw_entries, start=1):
        entries.append(_parse_entry(check, raw, i, seeds, steps, time_limit, options, protocol))
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, start=1):
        if entry.name in seen:
            raise check.fail(f"entry {i}", f"name {entry.name!r} is taken by entry {seen[entry.name]}; give one a name")
        seen[entry.name] = i
    executors = check.table(data.get("executor", {}), "executor")
    for key, table in executors.items():
        check.table(table, f"executor.{key}")
    return Suite(name, source, tuple(entries), description, executors=executors)


def _parse_entry(check: _Checker, raw: Any, index: int, seeds: tuple[int, ...], steps: int | None,
                 time_limit: float | None, suite_options: dict[str, Any], suite_protocol: dict[str, Any]) -> Entry:
    where = f"entry {index}"
    raw = check.table(raw, where)
    check.keys(raw, ENTRY_KEYS, where)
    if "model" not in raw:
        raise check.fail(where, "names no model")
    model = check.string(raw["model"], f"{where}.model")
    options = {**suite_options, **check.options(raw.get("options", {}), f"{where}.options")}
    for key in ("dataset", "loss"):
        if key in raw:
            options[key] = check.string(raw[key], f"{where}.{key}")
    entry_steps = check.integer(raw["steps"], f"{where}.steps", 1) if "steps" in raw else steps
    if entry_steps is not None:
        options["steps"] = entry_steps
    default_name = f"{model}-{options['dataset']}" if "dataset" in options else model
    name = check.string(raw["name"], f"{where}.name") if "name" in raw else default_name
    if not NAME.match(name):
        raise check.fail(f"{where}.name", f"use letters, digits, '.', '_' and '-' only, got {name!r}")
    protocol = EvalProtocol(**{**suite_protocol, **check.protocol(raw.get("protocol", {}), f"{where}.protocol")})
    if options.get("eval_every"):  # scores recorded while training follow the entry's protocol unless told otherwise
        options.setdefault("eval_metrics", ",".join(protocol.metrics or ()))
        options.setdefault("eval_samples", protocol.num_samples)
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise check.fail(f"{where}.optional", f"must be true or false, got {_kind(optional)}")
    weights = raw.get("weights", ["auto"])
    if isinstance(weights, str):
        weights = [weights]
    if (not isinstance(weights, list) or not weights or len(set(map(str, weights))) != len(weights)
            or any(w not in WEIGHT_CHOICES for w in weights)):
        raise check.fail(f"{where}.weights", f"must be a list of distinct {', '.join(WEIGHT_CHOICES)}, got {weights!r}")
    try:
        temperature = check_temperature(raw.get("temperature", 1.0))
    except ConfigError as exc:
        raise check.fail(f"{where}.temperature", str(exc)) from None
    return Entry(
        name=name,
        model=model,
        options=options,
        protocol=protocol,
        seeds=check.seeds(raw["seeds"], f"{where}.seeds") if "seeds" in raw else seeds,
        description=check.string(raw["description"], f"{where}.description") if "description" in raw else "",
        time_limit=check.seconds(raw["time_limit"], f"{where}.time_limit") if "time_limit" in raw else time_limit,
        optional=optional,
        weights=tuple(weights),
        temperature=temperature,
    )


# ---- names and values against the registry --------------------------------------------------------
def validate_suite(suite: Suite, registry: Any = None) -> tuple[Suite, dict[str, dict[str, Any]]]:
    """Check every entry against the registry; returns the suite, its entries completed with what needs the
    registry to decide, and each entry's resolved config (for its first seed)."""
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    resolved = {}
    entries = []
    for entry in suite.entries:
        try:
            entry = _with_training_extractor(entry, registry)
            resolved[entry.name] = _validate_entry(entry, registry)
        except GanzooError as exc:
            raise SuiteError(f"{suite.source}: entry {entry.name!r}: {exc}") from None
        entries.append(entry)
    return dataclasses.replace(suite, entries=tuple(entries)), resolved


def _with_training_extractor(entry: Entry, registry: Any) -> Entry:
    """Image scores recorded while training (eval_every) use the entry's protocol's feature extractor."""
    from ganzoo.configure import dataset_name

    if not entry.options.get("eval_every") or "feature_extractor" in entry.options:
        return entry
    dataset = registry.dataset(dataset_name(registry.model(entry.model), entry.options))
    if dataset.modality != "image":
        return entry
    return dataclasses.replace(entry, options={**entry.options, "feature_extractor": entry.protocol.feature_extractor})


def metric_names(entry: Entry, config: Mapping[str, Any]) -> list[str]:
    """Every metric an entry names: its protocol's and those scored while training."""
    names = list(entry.protocol.metrics or ())
    names += [n.strip() for n in str(config.get("eval_metrics") or "").split(",") if n.strip()]
    return list(dict.fromkeys(names))


def _validate_entry(entry: Entry, registry: Any) -> dict[str, Any]:
    from ganzoo.configure import resolve_run
    from ganzoo.device import resolve_device
    from ganzoo.driver.precision import check_precision

    _, config = resolve_run(registry, entry.model, {**entry.options, "seed": entry.seeds[0]})
    check_precision(config["precision"], resolve_device(config["device"]))
    if "ema" in entry.weights and config.get("ema") is None:
        raise ConfigError("weights = ['ema'] needs an entry trained with an EMA (options.ema = DECAY)")
    dataset = registry.dataset(config["dataset"])
    for name in metric_names(entry, config):  # what needs the data itself is checked once it is loaded
        metric = registry.metric(name)
        if dataset.modality not in metric.modalities:
            raise ConfigError(f"metric {name!r} scores {'/'.join(metric.modalities)} models; this run is {dataset.modality}")
        if metric.conditional_only and not dataset.labelled:
            raise ConfigError(f"metric {name!r} scores conditional models; dataset {dataset.name!r} has no labels")
    if dataset.modality == "image":
        from ganzoo.metrics.extractors import default_extractor, resolve_extractor

        name = entry.protocol.feature_extractor
        resolve_extractor(default_extractor(dataset.name) if name == "auto" else name, entry.protocol.inception_weights)
    return config


def check_data(suite: Suite, resolved: Mapping[str, Mapping[str, Any]], registry: Any = None) -> Suite:
    """Load each entry's data once: a required entry without data stops the suite, an optional one is skipped.

    With the data loaded, the entry's metrics are checked against what it holds (labels, a vocabulary, ...).
    """
    from ganzoo.data.loading import load_data
    from ganzoo.metrics.base import choose_metrics
    from ganzoo.plugins import get_registry
    from ganzoo.spec import BuildContext

    registry = registry or get_registry()
    outcome: dict[str, Any] = {}
    skipped = {}
    for entry in suite.entries:
        config = resolved[entry.name]
        splits = [config["split"]] + ([entry.protocol.reference_split] if entry.protocol.reference_split else [])
        for split in splits:
            key = json.dumps([split, config.data], sort_keys=True, default=str)
            if key not in outcome:
                try:
                    outcome[key] = load_data(registry, config, split=split).info
                except DataError as exc:
                    outcome[key] = str(exc)
            if isinstance(outcome[key], str):
                if not entry.optional:
                    raise SuiteError(f"{suite.source}: entry {entry.name!r}: {outcome[key]}")
                skipped[entry.name] = outcome[key]
            else:
                try:
                    spec = registry.model(entry.model)
                    generator = spec.build_generator(BuildContext(outcome[key], config))
                    temperature_keywords(generator, entry.temperature, outcome[key].modality)
                    choose_metrics(registry, outcome[key], metric_names(entry, config), conditional=spec.conditional,
                                   likelihood=generator.likelihood)
                except GanzooError as exc:
                    raise SuiteError(f"{suite.source}: entry {entry.name!r}: {exc}") from None
    return dataclasses.replace(suite, skipped=skipped)


def read_suite(path: str | Path) -> Suite:
    """Read and structurally check a suite file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read suite: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SuiteError(f"{path}: not a UTF-8 text file") from None
    return parse_suite(text, str(path))


def load_suite(path: str | Path, registry: Any = None, data: bool = True) -> tuple[Suite, dict[str, dict[str, Any]]]:
    """Read, parse and fully validate a suite (and check its data unless ``data`` is false)."""
    suite, resolved = validate_suite(read_suite(path), registry)
    if data:
        suite = check_data(suite, resolved, registry)
    return suite, resolved

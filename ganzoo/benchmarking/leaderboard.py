"""The leaderboard: a bench directory's results as tables, one per (dataset, protocol).

Each metric of each run comes with its protocol (extractor and weights hash, sample counts,
reference split, library version...). Metrics computed under one protocol form one table per
dataset (FID, KID, IS and precision/recall share one; so do the three mode-collapse scores), so
runs meet on a metric exactly when it was computed the same way, whatever else they measured.
Within a table each entry's ``ok`` runs give mean +- std over seeds (sample std), and each score
key gives a rank (1 = best, by the metric's ``better``; equal means share a rank). Rows are ordered
by the mean of their ranks. Runs that failed, timed out or were skipped are listed apart.

A run scored at a softmax temperature other than 1 (an entry's ``temperature``) shows it among its
settings: the temperature is a setting, not part of the protocol, so such rows rank beside the others.

Score keys ending in ``_std`` (the spread torch-fidelity reports for one evaluation) are left out
of the tables; the raw rows keep them. The output depends only on results.jsonl and the sample
files: everything is sorted and nothing mentions the time or the machine it was rendered on.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ganzoo.benchmarking.results import latest_rows, protocol_id
from ganzoo.config import bare_values, bookkeeping_options

OWN_COLUMNS = ("dataset", "seed", "steps", "loss")
HIDDEN_OPTIONS = frozenset(OWN_COLUMNS) | bookkeeping_options()
"""Options that have their own column or only change bookkeeping; the others are shown as the entry's settings."""


@dataclass(frozen=True)
class Stat:
    """Mean, sample std (None for one value) and count of one quantity over seeds."""

    mean: float
    std: float | None
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            return cls(math.nan, None, 0)
        std = statistics.stdev(finite) if len(finite) > 1 else None
        return cls(statistics.fmean(finite), std, len(finite))

    def to_json(self) -> dict[str, Any]:
        return {"mean": _clean(self.mean), "std": _clean(self.std), "n": self.n}


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


@dataclass
class Row:
    """One entry of one table: its runs' scores over seeds."""

    entry: str
    model: str
    loss: str
    steps: int
    settings: dict[str, Any]
    runs: list[dict[str, Any]]
    """The entry's ok rows (as in results.jsonl) in this table, by seed."""
    weights: str = "raw"
    """The generator weights scored: raw (G as trained) or ema (its moving average)."""
    scores: dict[str, Stat] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    overall: float = 0.0
    position: int = 0
    seeds_total: int = 0

    @property
    def seeds(self) -> list[int]:
        return [int(run["seed"]) for run in self.runs]

    def stat(self, field_name: str) -> Stat:
        """A field of the rows (train_seconds, steps_per_second, ...) over seeds."""
        return Stat.of([float(run[field_name]) for run in self.runs if run.get(field_name) is not None])

    def score_stat(self, key: str) -> Stat:
        """A score over seeds."""
        return Stat.of([float(run["scores"][key]) for run in self.runs if run["scores"].get(key) is not None])

    @property
    def sample(self) -> str | None:
        """The sample picture of the lowest seed that has one."""
        return next((run["sample"] for run in self.runs if run.get("sample")), None)

    @property
    def peak_rss_mb(self) -> float | None:
        """The largest peak memory of the entry's runs (MiB)."""
        peaks = [float(run["peak_rss_mb"]) for run in self.runs if run.get("peak_rss_mb") is not None]
        return max(peaks) if peaks else None

    @property
    def devices(self) -> str:
        return ", ".join(sorted({str(run.get("device_name") or run.get("device")) for run in self.runs}))

    @property
    def model_source(self) -> str:
        return ", ".join(sorted({str(run.get("model_source")) for run in self.runs if run.get("model_source")}))


@dataclass
class Table:
    """The rows of one dataset for the metrics computed under one protocol."""

    dataset: str
    protocol_id: str
    protocols: dict[str, Any]
    """Each metric of the table and its protocol (the same for all: that is what makes the table)."""
    better: dict[str, str]
    rows: list[Row]

    @property
    def keys(self) -> list[str]:
        """Score keys, grouped by metric (metrics by name)."""
        return list(self.better)

    @property
    def anchor(self) -> str:
        return f"{self.dataset}-{self.protocol_id}"


@dataclass
class Board:
    """Every table of a bench directory plus the runs that gave no scores."""

    suites: list[str]
    tables: list[Table]
    unranked: list[dict[str, Any]]
    runs_total: int


def protocol_families(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A run's metrics grouped by protocol: protocol id -> {"protocols": {metric: protocol}, "keys": {score key: metric}}."""
    protocol = row.get("protocol", {})
    families: dict[str, dict[str, Any]] = {}
    for name, facts in sorted(protocol.get("metrics", {}).items()):
        family = families.setdefault(protocol_id(facts), {"protocols": {}, "keys": {}})
        family["protocols"][name] = facts
        family["keys"].update({k: name for k in protocol.get("keys", {}).get(name, []) if not k.endswith("_std")})
    return families


def weight_variants(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A run's row once per set of generator weights it was scored with (raw G, its EMA): each ranks on its own."""
    others = row.get("other_weights") or []
    return [dict(row), *({**row, **other} for other in others)]


def build(rows: Iterable[Mapping[str, Any]]) -> Board:
    """Group the latest row of each run into tables (dataset x protocol) and rank them."""
    latest = latest_rows(rows)
    grouped: dict[tuple[str, str], dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]] = {}
    unranked = []
    for row in latest.values():
        if row.get("status") != "ok":
            unranked.append(row)
            continue
        for scored in weight_variants(row):
            for pid, family in protocol_families(scored).items():
                key = (row["entry"], str(scored.get("weights", "raw")))
                grouped.setdefault((str(row["dataset"]), pid), {}).setdefault(key, []).append((scored, family))
    seeds_total: dict[str, int] = {}
    for row in latest.values():
        seeds_total[row["entry"]] = seeds_total.get(row["entry"], 0) + 1
    tables = [_table(dataset, pid, entries, seeds_total) for (dataset, pid), entries in sorted(grouped.items())]
    unranked_rows = [{k: row.get(k) for k in ("run_id", "entry", "dataset", "status", "error", "log")}
                     for row in sorted(unranked, key=lambda r: r["run_id"])]
    suites = sorted({str(row.get("suite")) for row in latest.values() if row.get("suite")})
    return Board(suites, tables, unranked_rows, len(latest))


def _table(dataset: str, pid: str, entries: Mapping[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]],
           seeds_total: Mapping[str, int]) -> Table:
    better: dict[str, str] = {}
    metric_of: dict[str, str] = {}
    protocols: dict[str, Any] = {}
    rows = []
    for (name, weights), pairs in sorted(entries.items()):
        pairs = sorted(pairs, key=lambda pair: int(pair[0]["seed"]))
        for run, family in pairs:
            protocols.update(family["protocols"])
            better.update({k: run["better"][k] for k in family["keys"] if k in run.get("better", {})})
            metric_of.update(family["keys"])
        first = pairs[0][0]
        options = first.get("options") or {}
        temperature = first.get("temperature")
        if temperature is not None and temperature != 1.0:  # a setting of the scoring, beside the entry's options
            options = {**options, "temperature": temperature}
        rows.append(Row(
            entry=name,
            weights=weights,
            model=str(first["model"]),
            loss=str(bare_values(first["config"]).get("loss", "")),
            steps=int(first["step"]),  # the budget over all phases (some variants derive it from a schedule)
            settings={k: v for k, v in sorted(options.items()) if k.rpartition(".")[2] not in HIDDEN_OPTIONS},
            runs=[run for run, _ in pairs],
            seeds_total=seeds_total.get(name, len(pairs)),
        ))
    better = {k: better[k] for k in sorted(better, key=lambda k: (metric_of[k], k))}  # grouped by metric
    for row in rows:
        row.scores = {key: row.score_stat(key) for key in better}
    for key, direction in better.items():
        _rank(rows, key, direction)
    for row in rows:
        ranks = [row.ranks[k] for k in better if k in row.ranks]
        row.overall = statistics.fmean(ranks) if ranks else math.inf
    rows.sort(key=lambda r: (r.overall, r.entry, r.weights))
    for position, row in enumerate(rows, start=1):
        row.position = position
    return Table(dataset, pid, dict(sorted(protocols.items())), better, rows)


def _rank(rows: list[Row], key: str, direction: str) -> None:
    """Competition ranks ("1224") of the rows' means for one key; rows without a value get none."""
    scored = [r for r in rows if r.scores[key].n > 0]
    sign = -1.0 if direction == "higher" else 1.0
    ordered = sorted(scored, key=lambda r: sign * r.scores[key].mean)
    for i, row in enumerate(ordered):
        if i > 0 and ordered[i - 1].scores[key].mean == row.scores[key].mean:
            row.ranks[key] = ordered[i - 1].ranks[key]
        else:
            row.ranks[key] = i + 1


# ---- text helpers ---------------------------------------------------------------------------------
def number(value: float | None) -> str:
    """Four significant digits, or a dash."""
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.4g}"


def mean_std(stat: Stat) -> str:
    if stat.n == 0:
        return "-"
    return number(stat.mean) if stat.std is None else f"{number(stat.mean)} ± {number(stat.std)}"


def arrow(direction: str) -> str:
    return "↑" if direction == "higher" else "↓"


def settings_text(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in settings.items())


def protocol_text(table: Table) -> str:
    """How the table's scores were computed, in one line."""
    from ganzoo.metrics.base import describe_protocols

    return f"{', '.join(table.protocols)}: {describe_protocols(table.protocols)}"


# ---- formats ----------------------------------------------------------------------------------------
def to_json(board: Board) -> str:
    data = {
        "format": "ganzoo-leaderboard",
        "version": 1,
        "suites": board.suites,
        "runs": board.runs_total,
        "tables": [{
            "dataset": t.dataset,
            "protocol_id": t.protocol_id,
            "protocol": t.protocols,
            "better": t.better,
            "rows": [{
                "position": r.position,
                "entry": r.entry,
                "weights": r.weights,
                "model": r.model,
                "loss": r.loss,
                "steps": r.steps,
                "settings": r.settings,
                "seeds": r.seeds,
                "seeds_total": r.seeds_total,
                "scores": {k: {**r.scores[k].to_json(), "rank": r.ranks.get(k)} for k in t.keys},
                "mean_rank": _clean(r.overall),
                "train_seconds": r.stat("train_seconds").to_json(),
                "steps_per_second": r.stat("steps_per_second").to_json(),
                "peak_rss_mb": r.peak_rss_mb,
                "device": r.devices,
                "model_source": r.model_source,
                "sample": r.sample,
            } for r in t.rows],
        } for t in board.tables],
        "unranked": board.unranked,
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


CSV_FIELDS = ("dataset", "protocol_id", "position", "entry", "weights", "model", "loss", "steps", "settings", "metric",
              "better", "mean", "std", "seeds", "seeds_total", "rank", "train_seconds_mean", "steps_per_second_mean",
              "peak_rss_mb_max")


def to_csv(board: Board) -> str:
    """Long format: one line per (table, entry, score key)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for t in board.tables:
        for r in t.rows:
            for key in t.keys:
                stat = r.scores[key]
                writer.writerow({
                    "dataset": t.dataset, "protocol_id": t.protocol_id, "position": r.position, "entry": r.entry,
                    "weights": r.weights, "model": r.model, "loss": r.loss, "steps": r.steps,
                    "settings": settings_text(r.settings),
                    "metric": key, "better": t.better[key], "mean": _csv_number(stat.mean), "std": _csv_number(stat.std),
                    "seeds": stat.n, "seeds_total": r.seeds_total, "rank": r.ranks.get(key, ""),
                    "train_seconds_mean": _csv_number(r.stat("train_seconds").mean),
                    "steps_per_second_mean": _csv_number(r.stat("steps_per_second").mean),
                    "peak_rss_mb_max": _csv_number(r.peak_rss_mb),
                })
    return buffer.getvalue()


def _csv_number(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def to_markdown(board: Board) -> str:
    lines = ["# Leaderboard", ""]
    suites = ", ".join(board.suites) or "-"
    lines += [f"Suites: {suites}; {board.runs_total} runs. Scores are mean ± std over seeds; the number after each "
              "score is its rank in its table (1 = best; ↑ higher is better, ↓ lower is better). Each table holds one "
              "dataset under one evaluation protocol: rows of different tables are never ranked together.", ""]
    for t in board.tables:
        lines += [f"## {t.dataset} · {', '.join(t.protocols)} · protocol {t.protocol_id}", "",
                  f"Protocol: {protocol_text(t)}", ""]
        weights = any(r.weights != "raw" for r in t.rows)  # a column only where some row scored other weights than G's
        head = ["#", "entry", *(["weights"] if weights else []), "model", "loss", "steps", "seeds",
                *(f"{k} {arrow(t.better[k])}" for k in t.keys),
                "train s", "steps/s", "peak RSS MB", "settings"]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---:" if h in ("#", "steps", "train s", "steps/s", "peak RSS MB") else "---"
                                     for h in head) + "|")
        for r in t.rows:
            cells = [str(r.position), r.entry, *([r.weights] if weights else []), r.model, r.loss, str(r.steps),
                     f"{len(r.runs)}/{r.seeds_total}"]
            cells += [f"{mean_std(r.scores[k])} ({r.ranks[k]})" if k in r.ranks else "-" for k in t.keys]
            cells += [number(r.stat("train_seconds").mean), number(r.stat("steps_per_second").mean),
                      number(r.peak_rss_mb), settings_text(r.settings) or "-"]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if board.unranked:
        lines += ["## Runs without scores", "", "| run | status | error |", "|---|---|---|"]
        for u in board.unranked:
            error = str(u.get("error") or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {u['run_id']} | {u['status']} | {error} |")
        lines.append("")
    return "\n".join(lines)

"""DIR/results.jsonl: one JSON row per finished attempt of a run (ok, failed, timeout or skipped).

The file is only ever appended to, so it is also the suite's history; readers take the latest
row of each run. A torn last line (the runner killed mid-write) is ignored.

    DIR/results.jsonl      the rows
    DIR/samples/RUN.png    the final sample picture of each run (a small copy; text for sequences)
    DIR/runs/RUN/          the run directories themselves (checkpoints: large, not for committing)
    DIR/logs/RUN.log       each run's output
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

RESULTS = "results.jsonl"
RUNS = "runs"
SAMPLES = "samples"
LOGS = "logs"
WORK = ".work"
STOP_FILE = "STOP"
"""Written into DIR/.work by a stopping driver; every worker that sees it checkpoints and stops."""
STATUSES = ("ok", "failed", "timeout", "skipped")


def append_row(out: Path, row: Mapping[str, Any]) -> None:
    """Append one row to DIR/results.jsonl and fsync it (a torn previous line is closed first)."""
    path = Path(out) / RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        if handle.tell() > 0:
            with path.open("rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":
                    handle.write(b"\n")
        handle.write((json.dumps(row, sort_keys=True) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())


def read_rows(out: Path) -> list[dict[str, Any]]:
    """Every readable row of DIR/results.jsonl, in the order written."""
    path = Path(out) / RESULTS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "run_id" in row:
            rows.append(row)
    return rows


def latest_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last row of each run, by run id."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest[row["run_id"]] = dict(row)
    return latest


def protocol_id(protocol: Mapping[str, Any]) -> str:
    """A short hash of the protocol a metric was computed under: equal ids, comparable scores."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:12]


def timeline(records: Iterable[Mapping[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    """Training seconds to the last record of metrics.jsonl and the scores recorded on the way.

    Each attempt (the first, then every resume) restarts ``time_s`` at zero, so the attempts are
    laid end to end; time spent scoring during training is left out, so the seconds are training only.
    """
    offset = scoring = 0.0
    previous: float | None = None
    now = 0.0
    history = []
    for record in records:
        t = float(record.get("time_s", 0.0))
        if previous is not None and t < previous:
            offset += previous
        previous = t
        if "eval" in record:
            scoring += float(record.get("eval_seconds", 0.0))
        now = offset + t - scoring
        if "eval" in record:
            history.append({
                "step": int(record["step"]),
                "train_seconds": round(now, 3),
                "scores": dict(record["eval"]),
                "protocol_ids": {name: protocol_id(p) for name, p in record.get("protocol", {}).items()},
            })
    return round(now, 3), history

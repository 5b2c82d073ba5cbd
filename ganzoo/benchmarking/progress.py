"""The bench's progress display: a bar over the suite's runs, what is running, and one line per ended run."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from tqdm.auto import tqdm

from ganzoo.metrics.base import format_scores

STATUS_WORDS = {"ok": "ok", "failed": "FAILED", "timeout": "TIMEOUT", "skipped": "skipped"}


def describe_row(row: Mapping[str, Any]) -> str:
    """One line about an ended run: status, id, steps, time and scores (or the error)."""
    head = f"{STATUS_WORDS.get(row['status'], row['status']):8} {row['run_id']}"
    if row["status"] == "ok":
        speed = f", {row['steps_per_second']:.3g} steps/s" if row.get("steps_per_second") else ""
        return f"{head}: step {row['step']}, {row['train_seconds']:.0f} s training{speed}; {format_scores(row['scores'])}"
    return f"{head}: {row.get('error')}"


class Progress:
    """Receives the runner's events; shows a tqdm bar (on terminals) and prints a line per ended run."""

    def __init__(self, enabled: bool | None = None, stream: Any = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.bar: tqdm | None = None
        self.plan: dict[str, Any] | None = None
        self.running: list[str] = []
        self.counts = {"ok": 0, "failed": 0, "timeout": 0, "skipped": 0}

    def __call__(self, kind: str, data: Mapping[str, Any]) -> None:
        if self.enabled is False:
            return
        if kind == "plan":
            # shown once the executor starts its first run: an executor that refuses the suite leaves one line
            self.plan = dict(data)
            if not data["todo"]:
                self._show_plan()
        elif kind == "start":
            self._show_plan()
            self.running.append(data["run_id"])
        elif kind == "end":
            self._show_plan()
            if data["run_id"] in self.running:
                self.running.remove(data["run_id"])
                if self.bar is not None:
                    self.bar.update(1)
            self.counts[data["status"]] = self.counts.get(data["status"], 0) + 1
            self._write(describe_row(data))
        if self.bar is not None:
            counts = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v)
            running = f"running {', '.join(self.running)}" if self.running else ""
            self.bar.set_postfix_str("; ".join(p for p in (counts, running) if p))

    def _show_plan(self) -> None:
        data, self.plan = self.plan, None
        if data is None:
            return
        self._write(f"suite {data['suite']}: {data['total']} runs; {data['done']} done before, {data['skipped']} skipped, "
                    f"{data['todo']} to run on executor {data['executor']}")
        self.bar = tqdm(total=data["total"], initial=data["done"] + data["skipped"], desc=f"bench {data['suite']}",
                        unit="run", disable=self.enabled is None and not self.stream.isatty(), file=self.stream,
                        dynamic_ncols=True)

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

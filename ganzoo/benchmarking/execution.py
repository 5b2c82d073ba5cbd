"""The contract between the bench driver and an executor (local processes, Ray, SLURM, a site's own).

The driver hands an executor the runs still to do as :class:`BenchTask` items and an
:class:`ExecutorContext`; the executor runs each task's :func:`run_bench_task` wherever it
chooses (the process that calls it must be the run's own: it redirects output and takes signals)
and yields ``(run_id, outcome)`` as runs end, with the outcome read by :func:`collect_outcome`.
The driver alone turns outcomes into rows of results.jsonl. When ``ctx.stop`` is set (Ctrl-C or
SIGTERM on the driver), every running task's worker has been told to checkpoint and stop (the
driver writes ``ctx.stop_file``, which workers watch); the executor should start nothing more,
wait for what runs, and return without yielding the stopped runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.benchmarking import worker
from ganzoo.benchmarking.results import STOP_FILE, WORK

WORKER_PRELOAD = ("torch", "ganzoo.training", "ganzoo.evaluation", "ganzoo.metrics.fidelity", "ganzoo.metrics.extractors")
"""What a worker process needs imported: an executor that starts workers from a fork server preloads these once
instead of once per run (the extractors bring torch-fidelity, with torchvision and torch._dynamo, which the
scores and the first optimiser need)."""


@dataclass(frozen=True)
class BenchTask:
    """One (entry, seed) to run: its id and the JSON-ready description its worker needs."""

    run_id: str
    spec: Mapping[str, Any]
    time_limit: float | None = None
    """Seconds per attempt; the worker stops itself with a checkpoint past it."""

    def payload(self, threads: int) -> dict[str, Any]:
        """What :func:`run_bench_task` takes, for a worker with ``threads`` CPU threads."""
        return {**self.spec, "run_id": self.run_id, "threads": int(threads), "time_limit": self.time_limit}


@dataclass
class ExecutorContext:
    """What an executor gets besides its tasks."""

    out: Path
    """The bench directory (absolute): every worker must see it at this path."""
    options: Mapping[str, Any]
    """The executor's options, typed and defaulted from its ExecutorSpec."""
    jobs: int
    """``--jobs``: how many runs at once where the executor decides that itself."""
    stop: threading.Event = field(default_factory=threading.Event)
    on_event: Callable[[str, Mapping[str, Any]], None] = lambda kind, data: None
    """Tell the progress display a run started: ``on_event("start", {"run_id": ...})``."""

    @property
    def stop_file(self) -> Path:
        return self.out / WORK / STOP_FILE

    def result_path(self, run_id: str) -> Path:
        """Where a run's worker writes its outcome (remove it before starting the run)."""
        return worker.paths(self.out, run_id)["result"]

    def log_path(self, run_id: str) -> Path:
        return worker.paths(self.out, run_id)["log"]


def run_bench_task(payload: Mapping[str, Any], lifeline: Any = None) -> None:
    """Train (or resume) and score one run in this process, writing its outcome for :func:`collect_outcome`."""
    worker.main(payload, lifeline)


def collect_outcome(ctx: ExecutorContext, run_id: str, missing: str) -> dict[str, Any]:
    """The outcome a run's worker wrote (and remove it), or a failure saying ``missing`` when it wrote none."""
    path = ctx.result_path(run_id)
    try:
        outcome = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        outcome = {"status": "failed", "error": f"{missing} and no result"}
    path.unlink(missing_ok=True)
    return outcome

"""Running a suite: every (entry, seed) in its own worker process, N at a time, resumable.

A run whose latest row in DIR/results.jsonl is ``ok`` with the same fingerprint (model, options,
protocol) is done and skipped. Any other run is started; a worker finds its run directory and
resumes from the last checkpoint when the configuration is unchanged. A failing run becomes a
``failed`` row with its error and the suite goes on; a run over the time limit is stopped with a
checkpoint and becomes a ``timeout`` row (a later bench continues it). Ctrl-C or SIGTERM stops
the workers at their next step, with a checkpoint, and writes no row for them.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from ganzoo.benchmarking import worker
from ganzoo.benchmarking.results import WORK, append_row, latest_rows, read_rows
from ganzoo.benchmarking.suite import RunSpec, Suite, load_suite
from ganzoo.errors import ConfigError, GanzooError

PRELOAD = ["torch", "ganzoo.training", "ganzoo.evaluation", "ganzoo.metrics.fidelity", "ganzoo.metrics.extractors"]
"""Imported once by the fork server the workers start from, instead of once per run (the extractors bring
torch-fidelity, with torchvision and torch._dynamo, which the scores and the first optimiser need)."""
GRACE_SECONDS = 60.0
"""How long a stopped worker may take to write its checkpoint before it is killed."""


class BenchInterrupted(GanzooError):
    """The bench was stopped by a signal; running the same command again continues it."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


@dataclass
class BenchSummary:
    """What one `ganzoo bench` did."""

    out: Path
    suite: str
    total: int
    already_done: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Rows written by this invocation, in the order the runs ended."""

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row["status"] == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "suite": self.suite,
            "runs": self.total,
            "already_done": len(self.already_done),
            "ran": {s: self.count(s) for s in ("ok", "failed", "timeout", "skipped")},
            "rows": [{k: row.get(k) for k in ("run_id", "status", "error", "scores", "wall_seconds")} for row in self.rows],
        }


@contextmanager
def exclusive(out: Path):
    """One bench per directory at a time."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".bench.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another `ganzoo bench` is running on {out}; wait for it or choose another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def git_commit(start: Path | None = None) -> tuple[str | None, bool | None]:
    """The commit of the ganzoo source tree and whether it has uncommitted changes (None, None outside git)."""
    start = start or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(start), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "-C", str(start), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=30)
        return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None, None


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def plan(suite: Suite, out: Path, retry_failed: bool = True) -> tuple[list[RunSpec], list[str]]:
    """(runs to start, run ids already done) from the suite and DIR/results.jsonl."""
    latest = latest_rows(read_rows(out))
    todo, done = [], []
    for run in suite.runs():
        row = latest.get(run.run_id)
        finished = row is not None and row.get("fingerprint") == run.fingerprint
        if finished and (row["status"] == "ok" or (row["status"] == "failed" and not retry_failed)):
            done.append(run.run_id)
        else:
            todo.append(run)
    return todo, done


@dataclass
class _Running:
    run: RunSpec
    process: Any
    lifeline: Any
    started: float
    stop_reason: str | None = None
    stop_sent: float | None = None


class _Signals:
    """SIGINT / SIGTERM set a flag the scheduling loop reads (main thread only)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Runner:
    """Schedules worker processes and turns their outcomes into rows."""

    def __init__(self, suite: Suite, resolved: Mapping[str, Mapping[str, Any]], out: Path, jobs: int,
                 time_limit: float | None, on_event: Callable[[str, Mapping[str, Any]], None]) -> None:
        self.suite = suite
        self.resolved = resolved
        self.out = out
        self.jobs = jobs
        self.time_limit = time_limit
        self.on_event = on_event
        self.threads = max(1, available_cpus() // jobs)
        self.commit, self.dirty = git_commit()
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(PRELOAD)

    def base_row(self, run: RunSpec) -> dict[str, Any]:
        return {
            "suite": self.suite.name,
            "run_id": run.run_id,
            "entry": run.entry,
            "seed": run.seed,
            "model": run.model,
            "dataset": self.resolved[run.entry]["dataset"],
            "loss": self.resolved[run.entry].get("loss"),
            "options": dict(run.options),
            "fingerprint": run.fingerprint,
            "git_commit": self.commit,
            "git_dirty": self.dirty,
        }

    def start(self, run: RunSpec) -> _Running:
        task = {
            "run_id": run.run_id,
            "model": run.model,
            "options": dict(run.options),
            "protocol": run.protocol.to_json(),
            "weights": list(run.weights),
            "out": str(self.out),
            "threads": self.threads,
        }
        result = worker.paths(self.out, run.run_id)["result"]
        result.unlink(missing_ok=True)
        reader, writer = self.context.Pipe(duplex=False)
        process = self.context.Process(target=worker.main, args=(task, reader), name=f"ganzoo-bench-{run.run_id}")
        process.start()
        reader.close()
        self.on_event("start", {"run_id": run.run_id})
        return _Running(run, process, writer, time.monotonic())

    def stop(self, running: _Running, reason: str) -> None:
        if running.stop_sent is None and running.process.is_alive():
            running.stop_reason = reason
            running.stop_sent = time.monotonic()
            os.kill(running.process.pid, signal.SIGTERM)

    def limit(self, run: RunSpec) -> float | None:
        """The run's time limit: --time-limit, else the suite's."""
        return run.time_limit if self.time_limit is None else self.time_limit

    def finish(self, running: _Running) -> dict[str, Any] | None:
        """The row for an ended worker (None when it was stopped by a shutdown: it resumes next time)."""
        running.lifeline.close()
        run = running.run
        result_path = worker.paths(self.out, run.run_id)["result"]
        try:
            outcome = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            code = running.process.exitcode
            killed = f" (killed by {signal.Signals(-code).name})" if code is not None and code < 0 else ""
            outcome = {"status": "failed", "error": f"worker ended with exit code {code}{killed} and no result"}
        result_path.unlink(missing_ok=True)
        if running.stop_reason == "shutdown":
            return None
        if running.stop_reason == "time limit" and outcome.get("status") != "ok":
            outcome["status"] = "timeout"
            outcome["error"] = (f"stopped at the time limit of {self.limit(run):g} s (step {outcome.get('step', 0)}); "
                                "running the bench again continues it from its last checkpoint")
        elif outcome.get("status") == "interrupted":
            outcome["status"] = "failed"
        logs = worker.paths(self.out, run.run_id)["log"]
        finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        row = {**self.base_row(run), **outcome, "log": logs.relative_to(self.out).as_posix(), "finished": finished}
        append_row(self.out, row)
        return row

    def run(self, todo: list[RunSpec]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        queue = list(todo)
        running: list[_Running] = []
        with _Signals() as signals:
            while queue or running:
                if signals.signum is not None:
                    queue.clear()
                    for item in running:
                        self.stop(item, "shutdown")
                while queue and len(running) < self.jobs:
                    running.append(self.start(queue.pop(0)))
                wait([item.process.sentinel for item in running], timeout=0.5)
                now = time.monotonic()
                for item in list(running):
                    limit = self.limit(item.run)
                    if limit is not None and now - item.started > limit:
                        self.stop(item, "time limit")
                    if item.stop_sent is not None and now - item.stop_sent > GRACE_SECONDS and item.process.is_alive():
                        item.process.kill()
                    if not item.process.is_alive():
                        item.process.join()
                        running.remove(item)
                        row = self.finish(item)
                        if row is not None:
                            rows.append(row)
                            self.on_event("end", row)
            if signals.signum is not None:
                name = signal.Signals(signals.signum).name
                raise BenchInterrupted(signals.signum, f"bench stopped by {name}; unfinished runs kept their checkpoints: "
                                                       "run the same command again to continue")
        return rows


def run_suite(
    suite_path: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    retry_failed: bool = True,
    entries: list[str] | None = None,
    on_event: Callable[[str, Mapping[str, Any]], None] | None = None,
) -> BenchSummary:
    """Validate a suite, then run every (entry, seed) not yet done into ``out``; see the module docstring."""
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    if time_limit is not None and not time_limit > 0:
        raise ConfigError(f"--time-limit must be a positive number of seconds, got {time_limit}")
    suite, resolved = load_suite(suite_path)
    if entries:
        known = {e.name for e in suite.entries}
        for name in entries:
            if name not in known:
                from ganzoo.errors import unknown_name

                raise unknown_name("entry", name, known)
        suite = Suite(suite.name, suite.source, tuple(e for e in suite.entries if e.name in entries), suite.description,
                      suite.skipped)
    out = Path(out)
    on_event = on_event or (lambda kind, data: None)
    with exclusive(out):
        (out / WORK).mkdir(parents=True, exist_ok=True)
        todo, done = plan(suite, out, retry_failed)
        summary = BenchSummary(out, suite.name, len(suite.runs()), done)
        runner = Runner(suite, resolved, out, jobs, time_limit, on_event)
        latest = latest_rows(read_rows(out))
        launch = []
        for run in todo:
            reason = suite.skipped.get(run.entry)
            if reason is None:
                launch.append(run)
                continue
            previous = latest.get(run.run_id, {})
            if previous.get("status") != "skipped" or previous.get("error") != reason:
                row = {**runner.base_row(run), "status": "skipped", "error": reason}
                append_row(out, row)
                summary.rows.append(row)
                on_event("end", row)
        on_event("plan", {"suite": suite.name, "total": summary.total, "done": len(done), "todo": len(launch),
                          "skipped": len(todo) - len(launch), "jobs": jobs, "threads": runner.threads})
        summary.rows.extend(runner.run(launch))
    return summary

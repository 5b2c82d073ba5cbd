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
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ganzoo.benchmarking import worker
from ganzoo.benchmarking.execution import BenchTask, ExecutorContext
from ganzoo.benchmarking.results import WORK, append_row, latest_rows, read_rows
from ganzoo.benchmarking.suite import RunSpec, Suite, load_suite
from ganzoo.config import as_option
from ganzoo.errors import ConfigError, GanzooError, unknown_name
from ganzoo.spec import ExecutorSpec


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


class _Signals:
    """SIGINT / SIGTERM (main thread only) set the executors' stop event and write the workers' stop file."""

    def __init__(self, ctx: ExecutorContext) -> None:
        self.ctx = ctx
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Signals:
        self.ctx.stop_file.unlink(missing_ok=True)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum
        self.ctx.stop_file.touch()
        self.ctx.stop.set()

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self.ctx.stop_file.unlink(missing_ok=True)


class Driver:
    """Hands runs to an executor and turns their outcomes into rows; the only writer of results.jsonl."""

    def __init__(self, suite: Suite, resolved: Mapping[str, Mapping[str, Any]], out: Path, executor: str) -> None:
        self.suite = suite
        self.resolved = resolved
        self.out = out
        self.executor = executor
        self.commit, self.dirty = git_commit()

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
            "executor": self.executor,
            "git_commit": self.commit,
            "git_dirty": self.dirty,
        }

    def task(self, run: RunSpec, time_limit: float | None) -> BenchTask:
        spec = {"model": run.model, "options": dict(run.options), "protocol": run.protocol.to_json(),
                "weights": list(run.weights), "temperature": run.temperature, "out": str(self.out)}
        return BenchTask(run.run_id, spec, run.time_limit if time_limit is None else time_limit)

    def row(self, run: RunSpec, outcome: Mapping[str, Any]) -> dict[str, Any]:
        outcome = dict(outcome)
        if outcome.get("status") == "interrupted":  # stopped by something other than this bench's shutdown
            outcome["status"] = "failed"
        logs = worker.paths(self.out, run.run_id)["log"]
        finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        row = {**self.base_row(run), **outcome, "log": logs.relative_to(self.out).as_posix(), "finished": finished}
        append_row(self.out, row)
        return row

    def run(self, spec: ExecutorSpec, todo: list[RunSpec], ctx: ExecutorContext,
            time_limit: float | None) -> list[dict[str, Any]]:
        by_id = {run.run_id: run for run in todo}
        rows: list[dict[str, Any]] = []
        with _Signals(ctx) as signals:
            for run_id, outcome in spec.run([self.task(run, time_limit) for run in todo], ctx):
                if run_id not in by_id or ctx.stop.is_set():
                    continue
                row = self.row(by_id.pop(run_id), outcome)
                rows.append(row)
                ctx.on_event("end", row)
        if signals.signum is not None:
            name = signal.Signals(signals.signum).name
            raise BenchInterrupted(signals.signum, f"bench stopped by {name}; unfinished runs kept their checkpoints: "
                                                   "run the same command again to continue")
        return rows


def executor_options(spec: ExecutorSpec, suite_table: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The executor's options: its defaults, then the suite's ``[executor.NAME]`` table, then the command line."""
    declared = {key: as_option(value) for key, value in spec.options.items()}
    values = {key: option.default for key, option in declared.items()}
    for where, table in (("the suite's [executor." + spec.name + "] table", suite_table), ("--executor-option", given)):
        for key, value in table.items():
            if key not in declared:
                raise unknown_name(f"option of executor {spec.name!r} (in {where})", key, declared)
            values[key] = declared[key].coerce(f"executor {spec.name} option {key}", value)
    return values


def run_suite(
    suite_path: str | Path,
    out: str | Path,
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    retry_failed: bool = True,
    entries: list[str] | None = None,
    seeds: list[int] | None = None,
    executor: str = "local",
    executor_settings: Mapping[str, Any] | None = None,
    on_event: Callable[[str, Mapping[str, Any]], None] | None = None,
) -> BenchSummary:
    """Validate a suite, then run every (entry, seed) not yet done into ``out`` on ``executor``; see the module
    docstring. ``executor_settings`` override the suite's ``[executor.NAME]`` table."""
    from ganzoo.plugins import get_registry

    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    if time_limit is not None and not time_limit > 0:
        raise ConfigError(f"--time-limit must be a positive number of seconds, got {time_limit}")
    spec = get_registry().executor(executor)
    suite, resolved = load_suite(suite_path)
    options = executor_options(spec, suite.executors.get(executor, {}), executor_settings or {})
    suite = select(suite, entries, seeds)
    out = Path(out).absolute()
    on_event = on_event or (lambda kind, data: None)
    with exclusive(out):
        (out / WORK).mkdir(parents=True, exist_ok=True)
        todo, done = plan(suite, out, retry_failed)
        summary = BenchSummary(out, suite.name, len(suite.runs()), done)
        driver = Driver(suite, resolved, out, executor)
        latest = latest_rows(read_rows(out))
        launch = []
        for run in todo:
            reason = suite.skipped.get(run.entry)
            if reason is None:
                launch.append(run)
                continue
            previous = latest.get(run.run_id, {})
            if previous.get("status") != "skipped" or previous.get("error") != reason:
                row = {**driver.base_row(run), "status": "skipped", "error": reason}
                append_row(out, row)
                summary.rows.append(row)
                on_event("end", row)
        on_event("plan", {"suite": suite.name, "total": summary.total, "done": len(done), "todo": len(launch),
                          "skipped": len(todo) - len(launch), "jobs": jobs, "executor": executor})
        ctx = ExecutorContext(out, options, jobs, on_event=on_event)
        summary.rows.extend(driver.run(spec, launch, ctx, time_limit))
    return summary


def select(suite: Suite, entries: list[str] | None, seeds: list[int] | None) -> Suite:
    """The suite cut down to the named entries and seeds (``--entry``, ``--seed``)."""
    if entries:
        known = {e.name for e in suite.entries}
        for name in entries:
            if name not in known:
                raise unknown_name("entry", name, known)
        suite = replace(suite, entries=tuple(e for e in suite.entries if e.name in entries))
    if seeds:
        kept = tuple(replace(e, seeds=tuple(s for s in e.seeds if s in seeds)) for e in suite.entries)
        suite = replace(suite, entries=tuple(e for e in kept if e.seeds))
        if not suite.entries:
            raise ConfigError(f"no entry of the suite has seed {', '.join(map(str, seeds))}")
    return suite

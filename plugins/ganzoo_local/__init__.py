"""The ``local`` executor: every run in its own worker process on this machine, ``--jobs`` at a time.

Workers start from a fork server that has imported torch and the scoring stack once; each gets
``cpus // jobs`` threads and a lifeline pipe, so a driver that dies stops its workers (with a
checkpoint) instead of leaving them behind. A worker that does not stop within a grace period of
its time limit, or of a shutdown, is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any

from ganzoo.plugin import (
    WORKER_PRELOAD,
    BenchTask,
    ExecutorContext,
    ExecutorSpec,
    Option,
    collect_outcome,
    hookimpl,
    run_bench_task,
)

GRACE_SECONDS = 60.0
"""How long a stopped worker may take to write its checkpoint before it is killed."""


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class _Running:
    task: BenchTask
    process: Any
    lifeline: Any
    started: float
    stop_sent: float | None = None


def run_local(tasks: list[BenchTask], ctx: ExecutorContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the tasks in worker processes, ``ctx.jobs`` at a time; yield each outcome as its worker ends."""
    threads = ctx.options.get("threads") or max(1, available_cpus() // ctx.jobs)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    queue = list(tasks)
    running: list[_Running] = []
    while queue or running:
        if ctx.stop.is_set():
            queue.clear()
        while queue and len(running) < ctx.jobs:
            task = queue.pop(0)
            ctx.result_path(task.run_id).unlink(missing_ok=True)
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=run_bench_task, args=(task.payload(threads), reader),
                                      name=f"ganzoo-bench-{task.run_id}")
            process.start()
            reader.close()
            ctx.on_event("start", {"run_id": task.run_id})
            running.append(_Running(task, process, writer, time.monotonic()))
        wait([item.process.sentinel for item in running], timeout=0.5)
        now = time.monotonic()
        for item in list(running):
            if item.process.is_alive():
                _enforce(item, ctx, now)
                continue
            item.process.join()
            item.lifeline.close()
            running.remove(item)
            code = item.process.exitcode
            killed = f" (killed by {signal.Signals(-code).name})" if code is not None and code < 0 else ""
            outcome = collect_outcome(ctx, item.task.run_id, f"worker ended with exit code {code}{killed}")
            if not ctx.stop.is_set():
                yield item.task.run_id, outcome


def _enforce(item: _Running, ctx: ExecutorContext, now: float) -> None:
    """Kill a worker that outlives a shutdown or its own time limit by the grace period (it stops itself first)."""
    if ctx.stop.is_set() and item.stop_sent is None:
        item.stop_sent = now
        os.kill(item.process.pid, signal.SIGTERM)
    limit = item.task.time_limit
    overdue = limit is not None and now - item.started > limit + GRACE_SECONDS
    if overdue or (item.stop_sent is not None and now - item.stop_sent > GRACE_SECONDS):
        item.process.kill()


LOCAL = ExecutorSpec(
    "local",
    "worker processes on this machine, --jobs at a time, threads = CPUs // jobs",
    run_local,
    options={"threads": Option(0, "torch threads per worker; 0: this machine's CPUs // --jobs", low=0)},
)


@hookimpl
def register_executors(register: Any) -> None:
    register(LOCAL)

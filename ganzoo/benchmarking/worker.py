"""One benchmark run in its own process: train (or resume), score under the suite's protocol, describe.

An executor starts :func:`main` in a fresh process per run, so each run has its own memory peak,
thread count and crash boundary. The worker writes its row to DIR/.work/RUN.json; the driver
appends it to results.jsonl. The worker stops at its next step with a checkpoint when its time
limit passes, when the driver writes DIR/.work/STOP, or (local processes) when the driver dies
and its lifeline pipe closes; a later `ganzoo bench` resumes from there.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import signal
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ganzoo.benchmarking.results import LOGS, RUNS, SAMPLES, STOP_FILE, WORK, timeline
from ganzoo.config import RunConfig
from ganzoo.metrics.protocol import EvalProtocol

THUMBNAIL_PX = 256
STOP_POLL_SECONDS = 1.0
TEXT_SAMPLE_LINES = 16


@contextmanager
def run_lock(path: Path):
    """Hold an exclusive lock on one run (waits for a previous worker of the same run to finish)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _watch_lifeline(lifeline: Any) -> None:
    """Stop this worker (as SIGTERM would: checkpoint, then exit) when the runner is gone."""

    def watch() -> None:
        try:
            lifeline.recv()
        except (EOFError, OSError):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="ganzoo-bench-lifeline").start()


def _watch_stop_file(path: Path) -> None:
    """Stop this worker (checkpoint, then exit) once the driver writes its stop file."""

    def watch() -> None:
        while not path.exists():
            time.sleep(STOP_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="ganzoo-bench-stop-file").start()


class WorkerStopped(Exception):
    """SIGTERM arrived outside training (while scoring, say): the attempt ends without a checkpoint to add."""


def _stop_outside_training(signum: int, frame: Any) -> None:
    raise WorkerStopped(f"stopped by {signal.Signals(signum).name} outside training")


def _start_time_limit(seconds: float | None) -> threading.Event:
    """Stop this worker with a checkpoint after ``seconds``; the event says whether that happened."""
    fired = threading.Event()

    def fire() -> None:
        fired.set()
        os.kill(os.getpid(), signal.SIGTERM)

    if seconds is not None:
        timer = threading.Timer(float(seconds), fire)
        timer.daemon = True
        timer.start()
    return fired


def _redirect_output(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def paths(out: Path, run_id: str) -> dict[str, Path]:
    """Where one run's files go inside the bench directory."""
    return {
        "run_dir": out / RUNS / run_id,
        "log": out / LOGS / f"{run_id}.log",
        "result": out / WORK / f"{run_id}.json",
        "lock": out / WORK / f"{run_id}.lock",
        "stop": out / WORK / STOP_FILE,
        "sample": out / SAMPLES / run_id,  # suffix added by the modality
    }


def main(task: Mapping[str, Any], lifeline: Any = None) -> None:
    """Process entry point: run one task and write its row to the result file."""
    if task.get("own_process_group", True):
        os.setpgrp()  # Ctrl-C reaches the driver only; it decides what the workers do
    out = Path(task["out"])
    where = paths(out, task["run_id"])
    _redirect_output(where["log"])
    if lifeline is not None:
        _watch_lifeline(lifeline)
    _watch_stop_file(where["stop"])
    timed_out = _start_time_limit(task.get("time_limit"))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop_outside_training)
    import torch

    torch.set_num_threads(int(task["threads"]))
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(task["threads"]))  # numpy's BLAS too (scores), whatever the executor's environment says
    started = time.perf_counter()
    row: dict[str, Any] = {"status": "failed", "error": None}
    try:
        with run_lock(where["lock"]):
            print(f"== {task['run_id']} (attempt started {time.strftime('%Y-%m-%d %H:%M:%S')} on "
                  f"{platform.node()}, pid {os.getpid()})", flush=True)
            row.update(train_and_score(task, out, where))
            row["status"] = "ok"
    except BaseException as exc:  # every outcome becomes a row; the runner decides what it means
        from ganzoo.errors import GanzooError
        from ganzoo.trainer.loop import Interrupted

        traceback.print_exc()
        if isinstance(exc, (Interrupted, WorkerStopped)):
            row["status"] = "interrupted"
        row["error"] = str(exc) if isinstance(exc, GanzooError) else f"{type(exc).__name__}: {exc}"
        row["step"] = _latest_step(where["run_dir"])
        if timed_out.is_set():
            row["status"] = "timeout"
            row["error"] = (f"stopped at the time limit of {task['time_limit']:g} s (step {row['step']}); "
                            "running the bench again continues it from its last checkpoint")
    row["wall_seconds"] = round(time.perf_counter() - started, 3)
    row.update(environment(torch))
    from ganzoo.storage.checkpoint import atomic_write_text

    atomic_write_text(where["result"], json.dumps(row, sort_keys=True))


def _latest_step(run_dir: Path) -> int:
    from ganzoo.storage.rundir import RunDir

    found = RunDir(run_dir).checkpoints()
    return found[-1][0] if found else 0


def _comparable(config: Mapping[str, Any], requested_precision: Any = None) -> str:
    """The configuration (qualified ``section.name`` keys) apart from the step budget; a stored precision
    counts as "auto" when auto was asked for (a run records what auto resolved to on its machine)."""
    from ganzoo.config import stored_values

    values = stored_values(config) if not isinstance(config, RunConfig) else dict(config)
    kept = {k: v for k, v in values.items() if k != "trainer.steps"}
    if requested_precision == "auto":
        kept["trainer.precision"] = "auto"
    return json.dumps(kept, sort_keys=True, default=list)


def resumable_step(run_dir: Path, config: Mapping[str, Any], total_steps: int) -> int | None:
    """The step a run directory can continue from, or None when it must start afresh.

    It continues only when it was trained with the same configuration (the step budget may have
    grown) and holds a checkpoint no later than the budget (``total_steps``, over all phases).
    """
    from ganzoo.errors import CheckpointError
    from ganzoo.storage.rundir import RunDir

    run = RunDir(run_dir)
    if not run.is_run():
        return None
    try:
        stored = run.read_config().get("config", {})
    except CheckpointError:
        return None
    found = run.checkpoints()
    same = _comparable(stored, config["precision"]) == _comparable(config)
    if not found or not same or found[-1][0] > total_steps:
        return None
    return found[-1][0]


def train_and_score(task: Mapping[str, Any], out: Path, where: Mapping[str, Path]) -> dict[str, Any]:
    """Train or resume the run, make sure its final sample exists, score it; the row's fields."""
    from ganzoo.configure import resolve_run
    from ganzoo.evaluation import evaluate_run
    from ganzoo.plugins import get_registry
    from ganzoo.storage.rundir import RunDir
    from ganzoo.training import train

    registry = get_registry()
    options = dict(task["options"])
    protocol = EvalProtocol.from_json(task["protocol"])
    spec, config = resolve_run(registry, task["model"], options)
    run_dir = where["run_dir"]
    resumed_from = resumable_step(run_dir, config, sum(phase.steps for phase in spec.schedule(config)))
    print(f"{'resuming from step ' + str(resumed_from) if resumed_from is not None else 'starting'}; "
          f"config {json.dumps(options, sort_keys=True)}", flush=True)
    if resumed_from is None:
        train(task["model"], out=run_dir, overwrite=True, progress=False, **options)
    else:
        train(resume=run_dir, progress=False, **({"steps": config["steps"]} if "steps" in options else {}))
    run = RunDir(run_dir)
    stored = run.read_config()
    step = _latest_step(run_dir)
    sample = _final_sample(run, stored, step, where["sample"])
    train_seconds, history = timeline(run.read_metrics())

    device = str(RunConfig(stored["config"])["device"])
    temperature = float(task.get("temperature", 1.0))
    first, *others = [_scored(registry, protocol, evaluate_run(run_dir, protocol, device=device, weights=weights,
                                                               temperature=temperature))
                      for weights in task.get("weights", ["auto"])]
    source = registry.models.get(task["model"]).source
    return {
        "config": stored["config"],
        "step": step,
        "resumed_from_step": resumed_from or 0,
        **first,
        "other_weights": others,
        "train_seconds": train_seconds,
        "steps_per_second": round(step / train_seconds, 3) if train_seconds > 0 else None,
        "history": history,
        "sample": sample.relative_to(out).as_posix() if sample else None,
        "model_source": f"{source.plugin} ({source.distribution} {source.version})",
    }


def _scored(registry: Any, protocol: EvalProtocol, report: Any) -> dict[str, Any]:
    """A row's score fields from one evaluation (which weights and temperature, scores, their protocols)."""
    return {
        "weights": report.weights,
        **({"temperature": report.temperature} if report.temperature is not None else {}),
        "scores": report.scores,
        "better": report.better,
        "protocol": {"request": protocol.to_json(), "metrics": report.protocols,
                     "keys": {name: sorted(k for k in registry.metric(name).better if k in report.scores)
                              for name in report.protocols}},
        "eval_seconds": round(report.seconds, 3),
    }


def _final_sample(run: Any, stored: Mapping[str, Any], step: int, target: Path) -> Path | None:
    """Copy the run's final sample picture (drawing it when the trainer had no chance to) next to the results."""
    from ganzoo.data.base import DataInfo
    from ganzoo.render import suffix_for
    from ganzoo.sampling import sample
    from ganzoo.trainer.loop import SAMPLE_SEED_OFFSET

    info = DataInfo.from_json(stored["data_info"])
    suffix = suffix_for(info)
    source = run.sample_path(step, suffix)
    if not source.is_file():
        config = RunConfig(stored["config"])
        sample(run.path, int(config["num_samples"]), seed=int(config["seed"]) + SAMPLE_SEED_OFFSET, out=source)
    target = target.with_suffix(suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        from PIL import Image

        with Image.open(source) as image:
            image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
            image.save(target, optimize=True)
    else:
        lines = source.read_text(encoding="utf-8").splitlines()[:TEXT_SAMPLE_LINES]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def environment(torch: Any) -> dict[str, Any]:
    """Where and with what the run ran: device, threads, peak memory, versions."""
    import resource

    from ganzoo.version import __version__

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 1024 if sys.platform != "darwin" else rss / 2**20
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    return {
        "device": "cuda" if cuda else "cpu",
        "device_name": torch.cuda.get_device_name() if cuda else _cpu_name(),
        "threads": torch.get_num_threads(),
        "peak_rss_mb": round(rss_mb, 1),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
        "torch_version": torch.__version__,
        "ganzoo_version": __version__,
        "python_version": platform.python_version(),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()

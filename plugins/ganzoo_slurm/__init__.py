"""The ``slurm`` bench executor: one job-array element per (entry, seed), submitted through submitit.

Each element runs the trainer in the job's own process, so SLURM's signals reach it: SIGTERM
(preemption, ``scancel``, the time limit's end) makes the trainer save a checkpoint and stop;
submitit's USR2 warning before the time limit requeues the element (a checkpointable callable),
which resumes from the last checkpoint. Job ids are kept in DIR/.work/slurm/jobs.json, so a later
``ganzoo bench`` finds jobs still queued or running and waits for them, collects the outcomes of
those that ended, and resubmits those that ended without one. ``wait = false`` submits and
returns: run the same command again to gather.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ganzoo.plugin import BenchTask, ConfigError, ExecutorContext, ExecutorSpec, Option, collect_outcome, hookimpl, run_bench_task

COMMANDS = ("sbatch", "squeue", "scancel")
ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING",
          "SUSPENDED", "STAGE_OUT", "SIGNALING", "STOPPED", "PREEMPTED"}
GRACE_SECONDS = 90.0
"""After a stop, how long the driver waits for running jobs to checkpoint and end."""


class BenchJob:
    """What each array element runs; checkpointable in submitit's protocol (requeued with the same run)."""

    def __call__(self, payload: dict[str, Any]) -> None:
        run_bench_task({**payload, "own_process_group": False})

    def checkpoint(self, payload: dict[str, Any]) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(BenchJob(), payload)


def _check_commands() -> None:
    absent = [name for name in COMMANDS if shutil.which(name) is None]
    if absent:
        raise ConfigError(f"the slurm executor needs SLURM's {', '.join(COMMANDS)} on PATH (missing: {', '.join(absent)});"
                          " run ganzoo bench on a machine that submits to the cluster")


def _resources(options: dict[str, Any]) -> list[str]:
    """sbatch flags for one element's resources, as the suite and command line ask."""
    flags = [f"--cpus-per-task={options['cpus']}", f"--time={options['time_min']}"]
    if options["partition"]:
        flags.append(f"--partition={options['partition']}")
    if options["mem_gb"]:
        flags.append(f"--mem={int(options['mem_gb'] * 1024)}M")
    if options["gpus"]:
        flags.append(f"--gpus-per-node={options['gpus']}")
    return flags + [f"--{item}" for item in options["sbatch"]]


def _extra_parameters(options: dict[str, Any]) -> dict[str, Any]:
    extra = {}
    for item in options["sbatch"]:
        key, sep, value = item.partition("=")
        extra[key.strip().removeprefix("--")] = value.strip() if sep else True
    return extra


def _check_satisfiable(options: dict[str, Any]) -> None:
    """``sbatch --test-only`` refuses resources the cluster can never grant; nothing is submitted."""
    test = subprocess.run(["sbatch", "--test-only", *_resources(options), "--wrap", "true"], capture_output=True,
                          text=True, timeout=60)
    if test.returncode != 0:
        reason = (test.stderr.strip().splitlines() or ["sbatch refused"])[-1].removeprefix("sbatch: error: ")
        raise ConfigError(f"SLURM cannot run a job asking {' '.join(_resources(options))}: {reason}")


def _check_shared_storage(ctx: ExecutorContext, options: dict[str, Any]) -> None:
    """A one-second probe job must read a file the driver wrote under the bench directory."""
    token = uuid.uuid4().hex
    probe = ctx.result_path(f"probe-{token}")
    probe.write_text(token, encoding="utf-8")
    try:
        job = subprocess.run(["sbatch", "--wait", "--quiet", "--job-name=ganzoo-probe", "--output=/dev/null",
                              *[f for f in _resources({**options, "cpus": 1}) if not f.startswith("--gpus")],
                              "--wrap", f"grep -qx {token} {probe}"], capture_output=True, text=True, timeout=600)
    finally:
        probe.unlink(missing_ok=True)
    if job.returncode != 0:
        raise ConfigError(f"SLURM jobs cannot see the output folder {ctx.out}: put --out on storage every node mounts "
                          "at the same path")


def _active_states() -> dict[str, str]:
    """job id (array elements as JOB_INDEX) -> state, for every job SLURM still holds."""
    listing = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T"], capture_output=True, text=True, timeout=60)
    if listing.returncode != 0:
        raise ConfigError(f"squeue failed: {listing.stderr.strip()}")
    return dict(line.split()[:2] for line in listing.stdout.splitlines() if line.strip())


def _load_jobs(path: Path) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError):
        return {}


def _save_jobs(path: Path, jobs: dict[str, str]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(jobs, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def _submit(tasks: list[BenchTask], ctx: ExecutorContext, options: dict[str, Any], folder: Path) -> dict[str, str]:
    import submitit

    executor = submitit.AutoExecutor(folder=folder / "jobs", cluster="slurm")
    parameters: dict[str, Any] = {"timeout_min": options["time_min"], "cpus_per_task": options["cpus"],
                                  "name": "ganzoo-bench", "slurm_additional_parameters": _extra_parameters(options)}
    if options["partition"]:
        parameters["slurm_partition"] = options["partition"]
    if options["mem_gb"]:
        parameters["mem_gb"] = options["mem_gb"]
    if options["gpus"]:
        parameters["gpus_per_node"] = options["gpus"]
    if options["parallelism"]:
        parameters["slurm_array_parallelism"] = options["parallelism"]
    executor.update_parameters(**parameters)
    for task in tasks:
        ctx.result_path(task.run_id).unlink(missing_ok=True)
    jobs = executor.map_array(BenchJob(), [task.payload(options["cpus"]) for task in tasks])
    for task in tasks:
        ctx.on_event("start", {"run_id": task.run_id})
    return {task.run_id: str(job.job_id) for task, job in zip(tasks, jobs, strict=True)}


def run_slurm(tasks: list[BenchTask], ctx: ExecutorContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """Submit what is not queued yet, then (with ``wait``) yield outcomes as jobs end."""
    _check_commands()
    options = dict(ctx.options)
    folder = ctx.out / ".work" / "slurm"
    folder.mkdir(parents=True, exist_ok=True)
    jobs_file = folder / "jobs.json"
    jobs = _load_jobs(jobs_file)
    active = _active_states()
    tracked = {task.run_id: jobs[task.run_id] for task in tasks if jobs.get(task.run_id) in active}
    fresh = []
    for task in tasks:
        if task.run_id in tracked:
            continue
        outcome = list(_outcome(ctx, task.run_id, jobs.get(task.run_id, "?"), quiet=True))
        if outcome:  # ended while no bench was watching
            yield outcome[0]
        else:  # never submitted, stopped, or lost with its node: (re)submit; it resumes from its checkpoint
            fresh.append(task)
    if fresh:
        _check_satisfiable(options)
        _check_shared_storage(ctx, options)
        submitted = _submit(fresh, ctx, options, folder)
        jobs.update(submitted)
        tracked.update(submitted)
        _save_jobs(jobs_file, jobs)
    if not options["wait"]:
        print(f"submitted {len(fresh)} SLURM jobs, {len(tracked) - len(fresh)} were queued already; run the same "
              "command again to collect their results", file=sys.stderr)
        return
    stopped_at = None
    while tracked:
        time.sleep(options["poll_seconds"])
        if ctx.stop.is_set():
            stopped_at = stopped_at or time.monotonic()
        active = _active_states()
        for run_id, job_id in list(tracked.items()):
            if job_id not in active:
                del tracked[run_id]
                if stopped_at is None:
                    yield from _outcome(ctx, run_id, job_id)
        if stopped_at is not None and time.monotonic() - stopped_at > GRACE_SECONDS:
            return


def _outcome(ctx: ExecutorContext, run_id: str, job_id: str, quiet: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """The run's outcome once its job left the queue; none (resubmitted next time) when it was stopped or lost."""
    if not ctx.result_path(run_id).exists():
        if not quiet:
            print(f"SLURM job {job_id} of {run_id} ended without a result (cancelled, or its node failed); run the "
                  "bench again to resubmit it: it resumes from its last checkpoint", file=sys.stderr)
        return
    outcome = collect_outcome(ctx, run_id, f"SLURM job {job_id} ended")
    if outcome.get("status") == "interrupted":
        if not quiet:
            print(f"SLURM job {job_id} of {run_id} was stopped ({outcome.get('error')}); run the bench again to "
                  "resubmit it: it resumes from its checkpoint", file=sys.stderr)
        return
    yield run_id, outcome


SLURM = ExecutorSpec(
    "slurm",
    "one SLURM job-array element per run, through submitit; run again to collect or resubmit",
    run_slurm,
    options={
        "partition": Option("", "partition (empty: the cluster's default)"),
        "time_min": Option(60, "time limit of each job in minutes", low=1),
        "cpus": Option(1, "CPUs per job (also its torch threads)", low=1),
        "gpus": Option(0, "GPUs per job", low=0),
        "mem_gb": Option(0.0, "memory per job in GiB (0: the partition's default)", low=0),
        "sbatch": Option((), "extra sbatch options, e.g. qos=high,account=lab", kind=str),
        "parallelism": Option(0, "most array elements running at once (0: no limit)", low=0),
        "wait": Option(True, "wait for the jobs and record them; false: submit and return (run again to gather)"),
        "poll_seconds": Option(5.0, "how often squeue is asked while waiting", low=0.1),
    },
)


@hookimpl
def register_executors(register: Any) -> None:
    register(SLURM)

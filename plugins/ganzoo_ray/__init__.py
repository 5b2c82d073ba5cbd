"""The ``ray`` bench executor: each (entry, seed) is one Ray task with declared resources.

``address = ""`` starts a local Ray cluster for the bench (and stops it after); an address joins
an existing one (``ray start --head`` prints it). A task whose worker process or node dies is
retried up to ``max_retries`` times and resumes from its last checkpoint; a run that fails for its
own reasons writes a failed outcome and is not retried. Every node must see the bench directory at
the same path: the executor checks that on every node before it submits anything.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ganzoo.plugin import BenchTask, ConfigError, ExecutorContext, ExecutorSpec, Option, collect_outcome, hookimpl, run_bench_task

GRACE_SECONDS = 60.0
"""After a stop, how long running tasks may take to checkpoint before they are cancelled."""
CONNECT_SECONDS = 5.0


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray executor needs Ray: pip install 'ganzoo[cluster]'") from None
    return ray


def _check_reachable(address: str) -> None:
    """One clear line for an address nothing listens on (Ray itself retries for a long time)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS):
            pass
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r} ({exc}); start it with `ray start --head` "
                          "or leave executor option address empty to start a local one") from None


def _start(ray: Any, options: dict[str, Any]) -> None:
    """Join the cluster at ``address``, or start a local one for this bench (``ray.shutdown`` stops it)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if options["address"]:
        _check_reachable(options["address"])
        try:
            ray.init(address=options["address"], **common)
        except (ConnectionError, RuntimeError) as exc:
            raise ConfigError(f"cannot join the Ray cluster at {options['address']!r}: {exc}") from None
        return
    try:
        ray.init(num_cpus=options["local_cpus"] or None,
                 num_gpus=options["local_gpus"] if options["local_gpus"] >= 0 else None,
                 _temp_dir=options["temp_dir"] or None, **common)
    except (OSError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"could not start a local Ray cluster: {exc}") from None


def _check_resources(ray: Any, options: dict[str, Any]) -> None:
    """Refuse tasks no node can ever run (Ray would keep them pending for ever)."""
    need = {"CPU": options["cpus"], "GPU": options["gpus"], "memory": options["memory_gb"] * 2**30}
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    if any(all(node.get(key, 0) >= amount for key, amount in need.items() if amount) for node in nodes):
        return
    largest = ", ".join(f"{key} {max((n.get(key, 0) for n in nodes), default=0):g}" for key in need)
    asked = ", ".join(f"{key} {amount:g}" for key, amount in need.items())
    raise ConfigError(f"no node of the Ray cluster can run a task asking {asked} (the largest offer {largest}); "
                      "lower executor options cpus, gpus or memory_gb")


def _sees(path: str, token: str) -> tuple[bool, str]:
    """(whether this node sees the probe file, this node's name): runs on each node."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read() == token, socket.gethostname()
    except OSError:
        return False, socket.gethostname()


def _check_shared_storage(ray: Any, ctx: ExecutorContext) -> None:
    """Every alive node must see the bench directory: a probe file written here, read on each node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    token = uuid.uuid4().hex
    probe = ctx.result_path(f"probe-{token}")
    probe.write_text(token, encoding="utf-8")
    try:
        remote = ray.remote(num_cpus=0)(_sees)
        refs = [remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                .remote(str(probe), token) for node in ray.nodes() if node.get("Alive")]
        for seen, host in ray.get(refs):
            if not seen:
                raise ConfigError(f"Ray node {host} cannot see the output folder {ctx.out}: put --out on storage "
                                  "every node mounts at the same path")
    finally:
        probe.unlink(missing_ok=True)


def _run(payload: dict[str, Any]) -> None:
    """The Ray task: one run, in the Ray worker process (one task per process: max_calls=1)."""
    run_bench_task({**payload, "own_process_group": False})


def failure_reason(exc: Exception) -> str:
    """The first line of a Ray error's message, or its type's name: some have no message (a task force-cancelled
    when a Ctrl-C's grace period runs out raises a bare TaskCancelledError)."""
    return next(iter(str(exc).splitlines()), "") or type(exc).__name__


def run_ray(tasks: list[BenchTask], ctx: ExecutorContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """Submit every task to Ray at once (Ray schedules them by their resources); yield outcomes as they end."""
    ray = _import_ray()
    options = dict(ctx.options)
    _start(ray, options)
    try:
        _check_resources(ray, options)
        _check_shared_storage(ray, ctx)
        remote = ray.remote(max_calls=1, max_retries=options["max_retries"], retry_exceptions=False)(_run).options(
            num_cpus=options["cpus"], num_gpus=options["gpus"] or None,
            memory=int(options["memory_gb"] * 2**30) or None)
        threads = max(1, int(options["cpus"]))
        pending = {}
        for task in tasks:
            ctx.result_path(task.run_id).unlink(missing_ok=True)
            pending[remote.remote(task.payload(threads))] = task
            ctx.on_event("start", {"run_id": task.run_id})
        stopped_at = None
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if ctx.stop.is_set():
                stopped_at = stopped_at or time.monotonic()
                if time.monotonic() - stopped_at > GRACE_SECONDS:
                    for ref in pending:
                        ray.cancel(ref, force=True)
            for ref in ready:
                task = pending.pop(ref)
                missing = "Ray task ended"
                try:
                    ray.get(ref)
                except ray.exceptions.RayError as exc:
                    missing = f"Ray task failed after {options['max_retries']} retries: {failure_reason(exc)}"
                yield task.run_id, collect_outcome(ctx, task.run_id, missing)
    finally:
        ray.shutdown()


RAY = ExecutorSpec(
    "ray",
    "one Ray task per run with declared resources; a local cluster, or --executor-option address=HOST:PORT",
    run_ray,
    options={
        "address": Option("", "an existing cluster (HOST:PORT or auto); empty: start a local one for the bench"),
        "cpus": Option(1.0, "CPUs per run (also its torch threads)", low=0, low_inclusive=False),
        "gpus": Option(0.0, "GPUs per run; a fraction packs several runs on one device", low=0),
        "memory_gb": Option(0.0, "memory per run in GiB, for Ray's scheduler (0: not declared)", low=0),
        "max_retries": Option(3, "times a run whose worker or node died is started again", low=0),
        "local_cpus": Option(0, "CPUs of the local cluster (0: this machine's)", low=0),
        "local_gpus": Option(-1, "GPUs of the local cluster (-1: detect)", low=-1),
        "temp_dir": Option("", "the local cluster's session directory (empty: Ray's default)"),
    },
)


@hookimpl
def register_executors(register: Any) -> None:
    register(RAY)

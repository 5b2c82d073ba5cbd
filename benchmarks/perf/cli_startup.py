"""Time the ganzoo CLI's start-up against `python -c "import torch"`, side by side.

Every command runs as a fresh process of the current interpreter (``sys.executable -m ganzoo ...``),
interleaved round-robin: each round runs every command once, in an order rotated by one per round, so
a slow spell on a shared machine lands on all of them alike. One untimed warm-up round fills the file
cache first. The table gives the median wall time per command and the ratio of `ganzoo list` to
`import torch`, the floor any command that loads plugins pays.

Run:  python benchmarks/perf/cli_startup.py [--rounds 5] [--json-out FILE] [--importtime] [--baseline DIR]

``--importtime`` also prints the heaviest top-level packages `ganzoo list` imports (from ``python -X importtime``).
``--baseline DIR`` times another source tree of ganzoo (an exported older commit, say) in the same rounds: its
commands run with DIR as working directory and DIR/plugins first on PYTHONPATH, so its modules shadow the
installed ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

PY = sys.executable
ROOT = Path(__file__).resolve().parents[2]
GANZOO_ARGS = (["--version"], ["--help"], ["list"], ["info", "dcgan"], ["info", "seqgan"])
TOP_IMPORTS = 15


@dataclass(frozen=True)
class Command:
    """One process to time: its arguments, working directory and extra environment."""

    argv: list[str]
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)


def commands(baseline: Path | None = None) -> dict[str, Command]:
    """`import torch` and the ganzoo commands of this tree (and of the baseline tree, when given), by label."""
    out = {"import torch": Command([PY, "-c", "import torch"])}
    out.update({f"ganzoo {' '.join(args)}": Command([PY, "-m", "ganzoo", *args]) for args in GANZOO_ARGS})
    if baseline is not None:
        env = {"PYTHONPATH": os.pathsep.join([str(baseline), str(baseline / "plugins")])}
        out.update({f"ganzoo {' '.join(args)} (baseline)": Command([PY, "-m", "ganzoo", *args], baseline, env)
                    for args in GANZOO_ARGS})
    return out


def run_once(command: Command) -> float:
    """Wall seconds of one process; a failing command stops the benchmark (its time would mean nothing)."""
    start = time.perf_counter()
    done = subprocess.run(command.argv, cwd=command.cwd, env={**os.environ, **command.env}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command.argv[1:])} exited with {done.returncode}:\n{done.stderr}")
    return elapsed


def measure(todo: dict[str, Command], rounds: int, warmup: int) -> dict[str, list[float]]:
    """Seconds per command per round, the commands interleaved in a rotating order."""
    names = list(todo)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(warmup + rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            elapsed = run_once(todo[name])
            if r >= warmup:
                times[name].append(elapsed)
    return times


def heaviest_imports(command: Command, top: int = TOP_IMPORTS) -> list[dict[str, Any]]:
    """The top-level packages (torch, nltk, ganzoo_seqgan, ...) one command imports, by cumulative seconds.

    A package's time sums the cumulative times of its modules imported from outside it (``scipy`` and
    ``scipy.stats`` pulled in by nltk both count for scipy), so a package's time includes the packages
    it imports in turn: scipy counts again inside nltk.
    """
    done = subprocess.run([command.argv[0], "-X", "importtime", *command.argv[1:]], cwd=command.cwd,
                          env={**os.environ, **command.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=True)
    entries = []  # (depth, module, cumulative us), children listed before their importer
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "[us]" not in line:
            _, cumulative_us, name = line.removeprefix("import time:").split("|")
            entries.append(((len(name) - len(name.lstrip()) - 1) // 2, name.strip(), int(cumulative_us)))
    totals: dict[str, int] = {}
    importers: list[str] = []  # importers[d]: the module at depth d enclosing the current entry
    for depth, module, cumulative_us in reversed(entries):  # reversed: every importer comes before what it imported
        del importers[depth:]
        root = module.split(".")[0]
        if not importers or importers[-1].split(".")[0] != root:
            totals[root] = totals.get(root, 0) + cumulative_us
        importers.append(module)
    heaviest = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top]
    return [{"package": root, "cumulative_s": us / 1e6} for root, us in heaviest]


def version(distribution: str) -> str:
    """An installed distribution's version, read from its metadata so that this process need not import it."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def report(result: dict[str, Any]) -> str:
    """The human-readable table."""
    lines = [f"machine: {result['machine']}, {result['cpus']} CPUs, Python {result['python']}, torch {result['torch']}",
             f"{result['rounds']} rounds (+{result['warmup']} warm-up), interleaved; median wall seconds per process", ""]
    width = max(map(len, result["commands"]))
    lines.append(f"{'command'.ljust(width)}  median_s   min_s   max_s")
    for name, row in result["commands"].items():
        lines.append(f"{name.ljust(width)}  {row['median_s']:8.3f} {row['min_s']:7.3f} {row['max_s']:7.3f}")
    lines += ["", f"ganzoo list / import torch: {result['list_vs_import_torch']:.2f}x"]
    if "baseline" in result:
        lines.append(f"ganzoo list (baseline) / import torch: {result['baseline_list_vs_import_torch']:.2f}x"
                     f"   (baseline: {result['baseline']})")
    if "importtime_list" in result:
        lines += ["", "heaviest top-level imports of `ganzoo list` (-X importtime, cumulative s):"]
        lines += [f"  {row['cumulative_s']:7.3f}  {row['package']}" for row in result["importtime_list"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each command (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--json-out", help="also write the result as JSON to this file")
    parser.add_argument("--importtime", action="store_true", help=f"list the {TOP_IMPORTS} heaviest imports of `ganzoo list`")
    parser.add_argument("--baseline", type=Path, help="another ganzoo source tree to time in the same rounds")
    args = parser.parse_args(argv)

    todo = commands(args.baseline.resolve() if args.baseline else None)
    times = measure(todo, args.rounds, args.warmup)
    rows = {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "runs_s": t}
            for name, t in times.items()}
    result: dict[str, Any] = {
        "machine": cpu_name(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "torch": version("torch"), "torch_fidelity": version("torch-fidelity"), "rounds": args.rounds, "warmup": args.warmup,
        "commands": rows,
        "list_vs_import_torch": rows["ganzoo list"]["median_s"] / rows["import torch"]["median_s"],
    }
    if args.baseline:
        result["baseline"] = str(args.baseline)
        result["baseline_list_vs_import_torch"] = rows["ganzoo list (baseline)"]["median_s"] / rows["import torch"]["median_s"]
    if args.importtime:
        result["importtime_list"] = heaviest_imports(todo["ganzoo list"])
    print(report(result))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return result


if __name__ == "__main__":
    main()

"""`ganzoo bench` and `ganzoo leaderboard`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ganzoo.cli.app import cli, emit_json, table

FORMATS = ("md", "html", "csv", "json")


def parse_executor_options(items: tuple[str, ...]) -> dict[str, str]:
    """``-E key=value`` items as raw strings (each executor option types its own value)."""
    from ganzoo.errors import ConfigError

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--executor-option expects KEY=VALUE, got {item!r}")
        options[key.strip()] = value.strip()
    return options


@cli.command()
@click.argument("suite", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Results directory: results.jsonl, samples/, logs/, runs/ (reused to resume).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs at a time, each in its own process (the CPU threads are shared out between them).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per run attempt (overrides the suite's time_limit); a run over it stops with a checkpoint.")
@click.option("--entry", "entries", multiple=True, help="Run only this entry of the suite (repeatable).")
@click.option("--seed", "seeds", multiple=True, type=int, help="Run only this seed of each entry (repeatable).")
@click.option("--retry-failed/--no-retry-failed", default=True, show_default=True,
              help="Start runs whose latest attempt failed again.")
@click.option("--executor", default="local", show_default=True,
              help="Where the runs execute: local, or an installed executor (`ganzoo list executors`).")
@click.option("-E", "--executor-option", "executor_items", multiple=True, metavar="KEY=VALUE",
              help="An option of the executor (repeatable; overrides the suite's [executor.NAME] table).")
@click.option("--check", is_flag=True, help="Validate the suite and show what would run; run nothing.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the plan with --check, else a summary).")
def bench(suite: Path, out: Path, jobs: int, time_limit: float | None, entries: tuple[str, ...], seeds: tuple[int, ...],
          retry_failed: bool, executor: str, executor_items: tuple[str, ...], check: bool, quiet: bool,
          as_json: bool) -> None:
    """Train and score every (entry, seed) of SUITE (a TOML file); resumable: run it again to continue.

    Each run's row (config, protocol, scores, time, memory, versions) is appended to OUT/results.jsonl;
    `ganzoo leaderboard OUT` turns them into a table. Exit code 1 when a run failed or timed out.
    """
    from ganzoo import api
    from ganzoo.benchmarking.progress import describe_row

    if check:
        data = api.check_suite(suite, out, entries=list(entries) or None, seeds=list(seeds) or None)
        if as_json:
            emit_json(data)
            return
        rows = [[e["name"], e["model"], e["dataset"], e["loss"] or "-", e["steps"], ",".join(map(str, e["seeds"])),
                 e["skipped"] and f"skipped: {e['skipped']}" or ""] for e in data["entries"]]
        click.echo(f"suite {data['suite']}: valid")
        click.echo(table(rows, ["ENTRY", "MODEL", "DATASET", "LOSS", "STEPS", "SEEDS", ""]))
        states = [r["state"] for r in data["runs"]]
        click.echo(f"{len(states)} runs: {states.count('done')} done, {states.count('to run')} to run, "
                   f"{states.count('skipped')} skipped")
        return
    summary = api.bench(suite, out, jobs=jobs, time_limit=time_limit, retry_failed=retry_failed,
                        entries=list(entries) or None, seeds=list(seeds) or None, executor=executor,
                        executor_options=parse_executor_options(executor_items), progress=False if quiet else None)
    bad = [row for row in summary.rows if row["status"] in ("failed", "timeout")]
    if as_json:
        emit_json(summary.to_json())
    else:
        click.echo(f"{summary.suite}: {summary.total} runs; {len(summary.already_done)} were done, this bench: "
                   f"{summary.count('ok')} ok, {summary.count('failed')} failed, {summary.count('timeout')} timed out, "
                   f"{summary.count('skipped')} skipped")
        click.echo(f"results: {summary.out / 'results.jsonl'}; table: ganzoo leaderboard {summary.out}")
        for row in bad:
            click.echo(describe_row(row), err=True)
    if bad:
        sys.exit(1)


@cli.command()
@click.argument("results", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to this file instead of standard output.")
def leaderboard(results: Path, fmt: str, output: Path | None) -> None:
    """The leaderboard of a bench directory: mean +- std over seeds and ranks, per dataset and protocol.

    Rows scored under different protocols (extractor, sample counts, reference data) are never ranked
    together. The output is deterministic: the same results give the same bytes.
    """
    from ganzoo import api

    text = api.leaderboard(results, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    from ganzoo.storage.checkpoint import atomic_write_text

    atomic_write_text(output, text)
    click.echo(str(output))

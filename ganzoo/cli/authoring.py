"""`ganzoo new-plugin` and `ganzoo check`: writing a plugin and dry-running a variant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganzoo.cli.app import cli, emit_json
from ganzoo.errors import PluginError


@cli.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the package folder ganzoo-NAME.")
def new_plugin(name: str, directory: Path) -> None:
    """Write a ready-to-install plugin package for a new variant NAME.

    The folder ganzoo-NAME holds a pyproject.toml with the `ganzoo` entry point, a variant
    module (an MLP GAN to edit) and a test that passes after `pip install -e`.
    """
    from ganzoo import api

    path = api.new_plugin(name, directory)
    shown = str(path) if path.is_absolute() else f"./{path}"  # pip reads a bare name as a package to download
    click.echo(f"created {shown}")
    click.echo(f"next: pip install -e \"{shown}[test]\" && ganzoo check {path.name.removeprefix('ganzoo-')} "
               f"&& pytest {shown}")


STATUS_WORDS = {"ok": "ok", "fail": "FAIL", "skipped": "skip"}


@cli.command()
@click.argument("model")
@click.option("--dataset", help="Dataset whose sample shape to check against (default: the model's).")
@click.option("--device", help="auto, cpu, cuda or cuda:N (default: the model's, usually auto).")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE", help="Override a hyper-parameter (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(model: str, dataset: str | None, device: str | None, set_items: tuple[str, ...], as_json: bool) -> None:
    """Dry-run MODEL: build G and D, check their shapes, run one step on random data.

    Exits with code 2 and says what is wrong when a check fails.
    """
    from ganzoo import api
    from ganzoo.config import parse_set_options

    options: dict[str, Any] = parse_set_options(set_items)
    options.update({k: v for k, v in {"dataset": dataset, "device": device}.items() if v is not None})
    report = api.check(model, **options)
    if as_json:
        emit_json(report.to_json())
    else:
        shape = "x".join(map(str, report.data_shape)) or "?"
        click.echo(f"checking {report.model} from {report.source} on {report.dataset} ({shape}), "
                   f"random data, batch {report.batch_size}, {report.device}")
        width = max(len(f.check) for f in report.findings)
        for finding in report.findings:
            click.echo(f"  {STATUS_WORDS[finding.status]:<4}  {finding.check:<{width}}  {finding.message}")
        for warning in report.warnings:
            click.echo(f"  warning: {warning}")
    if not report.ok:
        failed = report.failed
        skipped = sum(f.status == "skipped" for f in report.findings)
        counts = f"{len(failed)} check{'s' if len(failed) > 1 else ''} failed" + (f", {skipped} skipped" if skipped else "")
        raise PluginError(f"{report.model}: {counts} (first: {failed[0].check}: {failed[0].message})")
    if not as_json:
        click.echo(f"OK: {report.model} passed {len(report.findings)} checks")

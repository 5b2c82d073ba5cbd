"""`ganzoo list`, `ganzoo info`, `ganzoo plugins`: what is installed."""

from __future__ import annotations

import json

import click

from ganzoo.cli.app import cli, emit_json, table


@cli.command("list")
@click.argument("kind", required=False, default="models",
                type=click.Choice(["models", "losses", "datasets", "metrics", "all"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(kind: str, as_json: bool) -> None:
    """List registered models, losses, datasets or metrics with their source plugin."""
    from ganzoo import api

    kinds = api.KINDS if kind == "all" else (kind,)
    data = {k: api.list_entries(k) for k in kinds}
    if as_json:
        emit_json(data if kind == "all" else data[kind])
        return
    for k in kinds:
        if kind == "all":
            click.echo(f"{k}:")
        rows = [[r["name"], r["description"], f"{r['plugin']} ({r['distribution']} {r['version']})"] for r in data[k]]
        click.echo(table(rows, ["NAME", "DESCRIPTION", "PLUGIN"]) if rows else f"no {k} registered")
        if kind == "all":
            click.echo()


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(name: str, as_json: bool) -> None:
    """Show a model's defaults, paper and modality (or a loss's or dataset's details)."""
    from ganzoo import api

    data = api.info(name)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k} = {json.dumps(v, default=str)}")
        else:
            click.echo(f"{key}: {value}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Installed plugins: distribution, version, hooks and status."""
    from ganzoo import api

    records = api.plugins()
    if as_json:
        emit_json(records)
        return
    rows = [[r["name"], f"{r['distribution']} {r['version']}", r["status"], ", ".join(r["hooks"])] for r in records]
    click.echo(table(rows, ["PLUGIN", "DISTRIBUTION", "STATUS", "HOOKS"]))
    for r in records:
        for error in r["errors"]:
            click.echo(f"{r['name']}: {error}")

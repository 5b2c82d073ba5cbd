"""`ganzoo list`, `ganzoo info`, `ganzoo plugins`: what is installed."""

from __future__ import annotations

import json

import click

from ganzoo.cli.app import cli, emit_json, table


@cli.command("list")
@click.argument("kind", required=False, default="models",
                type=click.Choice(["models", "losses", "datasets", "metrics", "executors", "extensions", "all"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(kind: str, as_json: bool) -> None:
    """List registered models, losses, datasets, metrics, bench executors or training extensions with their source plugin."""
    from ganzoo import api

    kinds = api.KINDS if kind == "all" else (kind,)
    data = {k: api.list_entries(k) for k in kinds}
    warn_about_plugins()
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
    """Show a model's options by section (with help), paper and modality; or a loss's, dataset's or metric's details.

    Only the options that apply are shown: a sequence model has no image options, a dataset
    that reads no files has no data_root. Set them with --set section.name=value (or the bare
    name where one section declares it).
    """
    from ganzoo import api

    data = api.info(name)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if key == "defaults":
            continue
        if key == "options" and value and all(isinstance(v, dict) and "help" not in v for v in value.values()):
            click.echo("options (--set SECTION.NAME=VALUE):")
            for section, options in value.items():
                click.echo(f"  {section}:")
                _echo_options(options, indent="    ")
        elif key == "options":
            click.echo("options (--set NAME=VALUE):")
            _echo_options(value, indent="  ")
        elif isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k} = {json.dumps(v, default=str)}")
        else:
            click.echo(f"{key}: {value}")


def _echo_options(options: dict, indent: str) -> None:
    """One line per option: name = default, then its help."""
    width = max((len(f"{k} = {json.dumps(o['default'])}") for k, o in options.items()), default=0)
    for k, opt in options.items():
        left = f"{k} = {json.dumps(opt['default'])}"
        click.echo(f"{indent}{left:<{width}}  {opt['help']}".rstrip())
    if not options:
        click.echo(f"{indent}(none)")


def warn_about_plugins() -> None:
    """One stderr line per failed plugin or doubly registered name (stdout stays clean for --json)."""
    from ganzoo import api

    for line in api.plugin_problems():
        click.echo(f"ganzoo: warning: {line} (see `ganzoo plugins`)", err=True)


def _provides(registered: dict[str, list[str]]) -> str:
    """'models: wgan-gp; losses: hinge, lsgan' (long lists as a count)."""
    parts = []
    for kind, names in registered.items():
        parts.append(f"{kind}: {', '.join(names)}" if len(names) <= 3 else f"{kind}: {len(names)}")
    return "; ".join(parts) or "-"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Installed plugins: distribution, version, hooks, what they add, and status.

    Status is loaded, failed (with the reason below the table) or disabled (left out by
    GANZOO_LOAD_PLUGINS). A failed plugin never stops the others from loading.
    """
    from ganzoo import api
    from ganzoo.plugins import ENV_VAR

    records = api.list_plugins()
    if as_json:
        emit_json(records)
        return
    rows = [[r["name"], f"{r['distribution']} {r['version']}", r["status"], ", ".join(r["hooks"]) or "-",
             _provides(r["registered"])] for r in records]
    click.echo(table(rows, ["PLUGIN", "DISTRIBUTION", "STATUS", "HOOKS", "PROVIDES"]))
    for r in records:
        for error in r["errors"]:
            click.echo(f"{r['name']}: {error}")
    if any(r["status"] == "disabled" for r in records):
        click.echo(f"disabled plugins are not named in {ENV_VAR}")

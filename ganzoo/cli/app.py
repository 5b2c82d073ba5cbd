"""The click group every command attaches to, and small output helpers."""

from __future__ import annotations

import json
from typing import Any

import click

from ganzoo.version import __version__

state = {"debug": False}


def emit_json(data: Any) -> None:
    """Print data as indented, key-sorted JSON."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A plain left-aligned text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="ganzoo")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    """ganzoo: a pluggable GAN zoo. Variants are plugins; one trainer runs them all."""
    state["debug"] = debug

"""The `ganzoo` command line: a thin layer over :mod:`ganzoo.api`, one module per command group.

User mistakes print one line and exit with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from ganzoo.cli import bench, catalog, evaluate, sample, train  # noqa: F401  (each module attaches its commands)
from ganzoo.cli.app import cli, state
from ganzoo.errors import GanzooError

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and their exit code."""
    logging.basicConfig(format="ganzoo: %(message)s", level=logging.INFO)
    try:
        cli.main(args=argv, prog_name="ganzoo", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GanzooError as exc:
        if state["debug"]:
            raise
        click.echo(f"ganzoo: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if state["debug"]:
            raise
        click.echo(f"ganzoo: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)

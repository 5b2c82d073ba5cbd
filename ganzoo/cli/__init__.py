"""The `ganzoo` command line: a thin layer over :mod:`ganzoo.api`, one module per command group.

User mistakes print one line and exit with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from ganzoo.cli import (  # noqa: F401  (each module attaches its commands)
    analysis,
    authoring,
    bench,
    catalog,
    demo,
    evaluate,
    sample,
    train,
)
from ganzoo.cli.app import cli, state
from ganzoo.errors import GanzooError

__all__ = ["cli", "main"]


def _usage_line(exc: click.ClickException) -> str:
    """A click usage error as one line, pointing at the command's --help."""
    message = " ".join(exc.format_message().split("\n"))
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"ganzoo: error: {message}{hint}"


def _stopped_line(exc: BaseException) -> tuple[str, int]:
    """What to print, and the exit code, when a signal stopped ganzoo before it could save."""
    signum = getattr(exc, "signum", signal.SIGINT)
    name = signal.Signals(signum).name
    return (f"ganzoo: stopped by {name}; nothing was saved by this stop "
            "(a run continues from its last checkpoint with --resume)"), 128 + signum


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and their exit code."""
    logging.basicConfig(format="ganzoo: %(message)s", level=logging.INFO)
    try:
        cli.main(args=argv, prog_name="ganzoo", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt into Abort
        if state["debug"]:
            raise
        line, code = _stopped_line(exc.__cause__ or exc)
        click.echo(line, err=True)
        sys.exit(code)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(_usage_line(exc), err=True)
        sys.exit(exc.exit_code)
    except GanzooError as exc:
        if state["debug"]:
            raise
        click.echo(f"ganzoo: {exc.prefix}{exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        if state["debug"]:
            raise
        line, code = _stopped_line(exc)
        click.echo(line, err=True)
        sys.exit(code)
    except Exception as exc:
        if state["debug"]:
            raise
        click.echo(f"ganzoo: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)

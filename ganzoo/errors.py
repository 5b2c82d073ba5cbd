"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GanzooError(Exception):
    """A mistake in what the user asked for (bad name, bad value, missing file)."""

    exit_code = 2
    prefix = "error: "
    """What the CLI prints before the message ('' for a requested stop, which is no error)."""


class Aborted(KeyboardInterrupt):
    """A stop signal that could not wait for a clean save (a second Ctrl-C, or before training began)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum


class ConfigError(GanzooError):
    """An option or hyper-parameter value that cannot be used."""


class DataError(GanzooError):
    """A dataset that cannot be found, read or used with the chosen model."""


class CheckpointError(GanzooError):
    """A checkpoint or run directory that cannot be read or does not fit."""


class PluginError(GanzooError):
    """A plugin that cannot be used (conflicting names, failed import)."""


def unknown_name(kind: str, name: str, known: Iterable[str]) -> GanzooError:
    """Build the error for an unknown registry name, with a 'did you mean' hint."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(known) if known else "none installed"
    return GanzooError(f"unknown {kind} {name!r}{hint} (known: {listing})")

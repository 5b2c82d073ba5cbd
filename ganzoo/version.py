"""The installed version of ganzoo (read once from the package metadata)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ganzoo")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

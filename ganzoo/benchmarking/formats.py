"""The leaderboard of a bench directory in each output format: Markdown, CSV, JSON or HTML."""

from __future__ import annotations

from pathlib import Path

from ganzoo.benchmarking.html import to_html
from ganzoo.benchmarking.leaderboard import build, to_csv, to_json, to_markdown
from ganzoo.benchmarking.results import read_rows
from ganzoo.errors import ConfigError

FORMATS = ("md", "csv", "json", "html")


def render(out: Path, fmt: str) -> str:
    """The leaderboard of a bench directory in one format: md, html, csv or json."""
    rows = read_rows(out)
    if not rows:
        raise ConfigError(f"{out}: no results.jsonl rows (run `ganzoo bench SUITE --out {out}` first)")
    board = build(rows)
    if fmt == "md":
        return to_markdown(board)
    if fmt == "csv":
        return to_csv(board)
    if fmt == "json":
        return to_json(board)
    if fmt == "html":
        return to_html(board, out)
    raise ConfigError(f"unknown leaderboard format {fmt!r} (md, html, csv or json)")

"""The `ganzoo` command line: a thin layer over :mod:`ganzoo.api`.

User mistakes print one line and exit with code 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from ganzoo import __version__
from ganzoo.errors import GanzooError

_debug = False


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _table(rows: list[list[str]], headers: list[str]) -> str:
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
    global _debug
    _debug = debug


@cli.command("list")
@click.argument("kind", required=False, default="models",
                type=click.Choice(["models", "losses", "datasets", "all"]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(kind: str, as_json: bool) -> None:
    """List registered models, losses or datasets with their source plugin."""
    from ganzoo import api

    kinds = api.KINDS if kind == "all" else (kind,)
    data = {k: api.list_entries(k) for k in kinds}
    if as_json:
        _emit_json(data if kind == "all" else data[kind])
        return
    for k in kinds:
        if kind == "all":
            click.echo(f"{k}:")
        rows = [[r["name"], r["description"], f"{r['plugin']} ({r['distribution']} {r['version']})"] for r in data[k]]
        click.echo(_table(rows, ["NAME", "DESCRIPTION", "PLUGIN"]) if rows else f"no {k} registered")
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
        _emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for k, v in value.items():
                click.echo(f"  {k} = {json.dumps(v, default=str)}")
        else:
            click.echo(f"{key}: {value}")


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


@cli.command()
@click.argument("model", required=False)
@click.option("--dataset", help="Dataset name (default: the model's; see `ganzoo list datasets`).")
@click.option("--data-root", type=click.Path(path_type=Path), help="Directory or file holding the dataset.")
@click.option("--split", help="Dataset split to train on (default: train).")
@click.option("--download/--no-download", default=None, help="Allow downloading a missing dataset.")
@click.option("--image-size", type=int, help="Resize images to this size.")
@click.option("--steps", type=int, help="Generator steps to train for (total, also when resuming).")
@click.option("--batch-size", type=int, help="Examples per batch.")
@click.option("--lr-g", type=float, help="Generator learning rate.")
@click.option("--lr-d", type=float, help="Discriminator learning rate.")
@click.option("--d-steps", type=int, help="Discriminator steps per generator step (k).")
@click.option("--loss", help="Adversarial loss (see `ganzoo list losses`).")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--device", help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), help="Autocast precision.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default runs/<model>-<dataset>-<time>).")
@click.option("--resume", type=click.Path(path_type=Path), help="Continue the run in this directory.")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Override any option or hyper-parameter (repeatable); see `ganzoo info MODEL`.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model: str | None, out: Path | None, resume: Path | None, overwrite: bool, set_items: tuple[str, ...],
          quiet: bool, **options: Any) -> None:
    """Train MODEL (or continue a run with --resume RUN_DIR)."""
    from ganzoo import api
    from ganzoo.config import parse_set_options

    if model is None and resume is None:
        raise click.UsageError("name a MODEL to train, or --resume RUN_DIR")
    user = {**parse_set_options(set_items), **_given(**options)}
    result = api.train(model, out=out, resume=resume, overwrite=overwrite, progress=False if quiet else None, **user)
    click.echo(f"run: {result.path} (step {result.step})")
    if result.last_log:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in result.last_log.items()
                           if isinstance(v, float) and k != "time_s")
        click.echo(f"last log: {scores}")
    click.echo(f"checkpoint: {result.checkpoint}")


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-n", "--num", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Samples to draw.")
@click.option("--out", type=click.Path(path_type=Path), help="Output file (default RUN/samples/sample-seed<S>.png).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the latents.")
@click.option("--label", type=int, help="Class label for a conditional model (default: one row per class).")
def sample(run: Path, n: int, out: Path | None, seed: int, label: int | None) -> None:
    """Draw samples from a run directory or checkpoint and save them as a picture (or text)."""
    from ganzoo import api
    from ganzoo.render import suffix_for

    loaded = api.load_run(run)
    if out is None:
        base = loaded.run_dir or Path(".")
        out = base / "samples" / f"sample-seed{seed}{suffix_for(loaded.data_info)}"
    api.sample(run, n, seed=seed, label=label, out=out)
    click.echo(str(out))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins(as_json: bool) -> None:
    """Installed plugins: distribution, version, hooks and status."""
    from ganzoo import api

    records = api.plugins()
    if as_json:
        _emit_json(records)
        return
    rows = [[r["name"], f"{r['distribution']} {r['version']}", r["status"], ", ".join(r["hooks"])] for r in records]
    click.echo(_table(rows, ["PLUGIN", "DISTRIBUTION", "STATUS", "HOOKS"]))
    for r in records:
        for error in r["errors"]:
            click.echo(f"{r['name']}: {error}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and exit code 2."""
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
        if _debug:
            raise
        click.echo(f"ganzoo: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _debug:
            raise
        click.echo(f"ganzoo: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        sys.exit(1)

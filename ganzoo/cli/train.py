"""`ganzoo train`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganzoo.cli.app import cli
from ganzoo.config.sections import TRAINER_OPTIONS


def _help(option: str) -> str:
    """An option's help and default, from the trainer's option table."""
    opt = TRAINER_OPTIONS[option]
    default = {True: "on", False: "off"}.get(opt.default, opt.default)
    return f"{opt.help} (default: {default})"


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


@cli.command()
@click.argument("model", required=False)
@click.option("--dataset", help="Dataset name (default: the model's; see `ganzoo list datasets`).")
@click.option("--data-root", type=click.Path(), help="Directory or file holding the dataset.")
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
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]),
              help="Autocast precision (default auto: bf16 for convolutional image models on CPUs with bf16 units, else fp32).")
@click.option("--channels-last/--no-channels-last", default=None, help=f"{_help('channels_last')}.")
@click.option("--fused/--no-fused", default=None, help=f"{_help('fused')}.")
@click.option("--compile/--no-compile", "compile", default=None, help=f"{_help('compile')}.")
@click.option("--out", type=click.Path(path_type=Path), help="Run directory (default runs/<model>-<dataset>-<time>).")
@click.option("--resume", type=click.Path(path_type=Path), help="Continue the run in this directory.")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out.")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Set any option: section.name=value (trainer, model, data, eval) or a bare name one section "
                   "declares (repeatable); see `ganzoo info MODEL`.")
@click.option("--eval-every", type=int, help="Score the generator every N steps and at the end (0: never).")
@click.option("--ema", type=float, metavar="DECAY", help=f"{_help('ema')}.")
@click.option("--augment", metavar="POLICY", help=f"{_help('augment')}.")
@click.option("--reg", "reg", multiple=True, metavar="NAME:WEIGHT", help=f"{_help('reg')}; repeatable.")
@click.option("--extension", "extensions", multiple=True, metavar="NAME[:ARGS]",
              help="A training extension a plugin registered (ganzoo list extensions); repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model: str | None, out: Path | None, resume: Path | None, overwrite: bool, set_items: tuple[str, ...],
          quiet: bool, reg: tuple[str, ...], extensions: tuple[str, ...], **options: Any) -> None:
    """Train MODEL (or continue a run with --resume RUN_DIR)."""
    from ganzoo import api
    from ganzoo.config import parse_set_options

    if model is None and resume is None:
        raise click.UsageError("name a MODEL to train, or --resume RUN_DIR")
    user = {**parse_set_options(set_items), **_given(**options, reg=reg or None, extensions=extensions or None)}
    result = api.train(model, out=out, resume=resume, overwrite=overwrite, progress=False if quiet else None, **user)
    click.echo(f"run: {result.path} (step {result.step})")
    if result.last_log:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in result.last_log.items()
                           if isinstance(v, float) and k != "time_s")
        click.echo(f"last log: {scores}")
    click.echo(f"checkpoint: {result.checkpoint}")
    if result.last_eval:
        from ganzoo.metrics.base import describe_protocols, format_scores

        click.echo(f"final scores at step {result.last_eval['step']}: {format_scores(result.last_eval['eval'])}")
        click.echo(f"protocol: {describe_protocols(result.last_eval['protocol'])}")

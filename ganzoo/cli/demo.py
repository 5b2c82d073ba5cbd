"""`ganzoo demo ...`: self-contained teaching demos that need no run directory."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.app import cli, emit_json


@cli.group()
def demo() -> None:
    """Small GANs trained live to show how GANs work."""


@demo.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/toy1d"), show_default=True,
              help="Folder for toy1d-stages.png and toy1d.gif.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--train-steps", type=click.IntRange(min=1), help="Alternating D/G steps of stage (d) (default 1500).")
@click.option("--frames", type=click.IntRange(min=4), help="Snapshots in the animation (default 60).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stages, W1 distance along training, files).")
def toy1d(out: Path, seed: int, train_steps: int | None, frames: int | None, as_json: bool) -> None:
    """A 1-D GAN learning a Gaussian from uniform noise: the four stages of Goodfellow et al. 2014, Figure 1."""
    from ganzoo import api

    result = api.demo_toy1d(out, seed=seed, train_steps=train_steps, frames=frames)
    data = result.to_json()
    if as_json:
        emit_json(data)
        return
    for name, stage in data["stages"].items():
        low, high = stage["d_on_data"]
        click.echo(f"({name}) step {stage['step']}: W1(p_g, p_data) {stage['wasserstein']:.3f}, "
                   f"D(x) on the data {low:.2f} to {high:.2f}")
    click.echo(f"took {data['seconds']:.1f} s")
    for path in data["files"].values():
        click.echo(path)

"""`ganzoo sample`."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.app import cli


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-n", "--num", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Samples to draw.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Output file (default RUN/samples/sample-seed<S>.png; text samples are printed unless --out is given).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the latents.")
@click.option("--label", type=int, help="Class label for a conditional model (default: one row per class).")
def sample(run: Path, n: int, out: Path | None, seed: int, label: int | None) -> None:
    """Draw samples from a run directory or checkpoint: save a picture, or print text (sequence models)."""
    from ganzoo import api
    from ganzoo.render import TEXT_FORMS, as_text, suffix_for

    loaded = api.load_run(run)
    if out is None and loaded.data_info.modality in TEXT_FORMS:
        samples = api.sample(run, n, seed=seed, label=label)
        for line in as_text(samples, loaded.data_info) or []:
            click.echo(line)
        return
    if out is None:
        base = loaded.run_dir or Path(".")
        out = base / "samples" / f"sample-seed{seed}{suffix_for(loaded.data_info)}"
    api.sample(run, n, seed=seed, label=label, out=out)
    click.echo(str(out))


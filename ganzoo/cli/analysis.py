"""`ganzoo neighbours`, `ganzoo arithmetic`, `ganzoo plot`: seeing what a trained GAN learned."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.app import cli, emit_json

RUN = click.argument("run", type=click.Path(path_type=Path))
OUT = click.option("--out", type=click.Path(path_type=Path), help="Figure file (default RUN/analysis/NAME.png).")
SEED = click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the latents.")
EXTRACTOR = click.option("--feature-extractor", default="auto", show_default=True,
                         help="ganzoo-<dataset> domain classifier, auto (the run's dataset's, when fitted) or none.")
DEVICE = click.option("--device", default="cpu", show_default=True, help="cpu, cuda or auto.")
JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@cli.command()
@RUN
@click.option("-n", "--num-samples", type=click.IntRange(min=2), default=500, show_default=True,
              help="Generated samples to search for (and at most this many held-out images).")
@click.option("--show", type=click.IntRange(min=1), default=12, show_default=True, help="Samples drawn in the figure.")
@click.option("--heldout-split", default="test", show_default=True,
              help="Real split the model never saw, for comparison ('none' to skip; skipped when test is missing).")
@EXTRACTOR
@SEED
@OUT
@DEVICE
@JSON
def neighbours(run: Path, num_samples: int, show: int, heldout_split: str, feature_extractor: str, seed: int,
               out: Path | None, device: str, as_json: bool) -> None:
    """Generated samples beside their nearest training images (does the model copy its data?)."""
    from ganzoo import api

    split = None if heldout_split == "none" else heldout_split
    report = api.neighbours(run, num_samples=num_samples, show=show, seed=seed, heldout_split=split,
                            feature_extractor=feature_extractor, out=out, device=device)
    data = report.to_json()
    if as_json:
        emit_json(data)
        return
    click.echo("mean distance to the nearest training image:")
    for name, space in data["spaces"].items():
        line = f"  {name}: generated {space['generated_mean']:.4g}"
        if "heldout_mean" in space:
            line += (f", held-out real ({data['heldout_split']}) {space['heldout_mean']:.4g}, "
                     f"ratio {space['generated_over_heldout']:.3g}; "
                     f"{space['generated_nearer_than_every_heldout']} generated nearer than every held-out image")
        click.echo(line)
    if data["heldout_split"] is None:
        click.echo("  (no held-out split to compare with)")
    click.echo(f"figure: {report.path}")


@cli.command()
@RUN
@click.argument("expression", required=False)
@click.option("-k", "--per-concept", "k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Latents averaged per concept.")
@click.option("--pool", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Random latents each concept picks its exemplars from.")
@click.option("--variants", type=click.IntRange(min=1), default=8, show_default=True,
              help="Result samples: the result latent, then copies with uniform noise in [-0.25, 0.25].")
@click.option("--label", type=int, help="Class every latent is drawn with (needed for conditional models).")
@EXTRACTOR
@SEED
@OUT
@DEVICE
@JSON
def arithmetic(run: Path, expression: str | None, k: int, pool: int, variants: int, label: int | None,
               feature_extractor: str, seed: int, out: Path | None, device: str, as_json: bool) -> None:
    """Latent vector arithmetic: EXPRESSION like "class=0,ink=high - class=0,ink=low + class=1,ink=low".

    Each concept is a comma-separated list of selectors judged on generated samples: class=N (the
    domain classifier's class), ink=high|low, width=high|low, slant=right|left|upright. A concept's
    latents are the k best-fitting of the pool; their mean enters the sum. Without EXPRESSION the
    example above runs (thick 0 - thin 0 + thin 1).
    """
    from ganzoo import api

    result = api.arithmetic(run, expression, k=k, pool=pool, variants=variants, seed=seed, label=label,
                            feature_extractor=feature_extractor, out=out, device=device)
    data = result.to_json()
    if as_json:
        emit_json(data)
        return
    for term in data["terms"]:
        click.echo(f"{term['sign']} {term['concept']}: mean latent's sample {_describe(term['mean_latent_sample'])}")
    summary = data["result_summary"]
    votes = summary.pop("class_votes", None)
    click.echo(f"= result ({len(data['result'])} samples): mean {_describe(summary)}"
               + (f"; classes {', '.join(f'{c}: {n}' for c, n in votes.items())}" if votes else ""))
    click.echo(f"figure: {result.path}")


def _describe(values: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in values.items())


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Figure file (default RUN/analysis/curves.png; with --quality-diversity, required for several runs).")
@click.option("--quality-diversity", "quality_diversity", is_flag=True,
              help="Draw quality against diversity of the runs' temperature sweeps (`ganzoo eval --temperature-sweep`).")
@click.option("--quality", help="Quality score of --quality-diversity (default: nll_oracle, else bleu4).")
@click.option("--diversity", help="Diversity score of --quality-diversity (default: nll_test, else self_bleu4).")
@click.option("--name", "names", multiple=True, help="Legend name of each run, in order (default: its folder's name).")
def plot(runs: tuple[Path, ...], out: Path | None, quality_diversity: bool, quality: str | None,
         diversity: str | None, names: tuple[str, ...]) -> None:
    """Training curves of a run (losses, D(x) and D(G(z)), scores), or with --quality-diversity several runs'
    temperature sweeps on one figure (MLE, SeqGAN, RelGAN, ...)."""
    from ganzoo import api
    from ganzoo.errors import ConfigError

    if not quality_diversity:
        if len(runs) > 1 or quality or diversity or names:
            raise ConfigError("training curves are of one run; --quality-diversity compares several runs' sweeps")
        click.echo(str(api.plot(runs[0], out)))
        return
    click.echo(str(api.plot_quality_diversity(runs, out, names=list(names) or None, quality=quality,
                                              diversity=diversity)))

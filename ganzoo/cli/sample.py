"""`ganzoo sample` (and `--interpolate`: walks between latents), and `ganzoo translate` for image-to-image runs."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.app import cli


@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("-n", "--num", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Samples to draw.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Output file (default RUN/samples/sample-seed<S>.png, or interpolate-seed<S>.png; "
                   "text samples are printed unless --out is given).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the latents.")
@click.option("--label", type=int, help="Class label for a conditional model (default: one row per class).")
@click.option("--interpolate", is_flag=True,
              help="Instead of samples, draw lerp and slerp rows between random latent pairs (image models).")
@click.option("--pairs", type=click.IntRange(min=1), default=4, show_default=True,
              help="With --interpolate: latent pairs (two rows each).")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True,
              help="With --interpolate: images along each path, both ends included.")
@click.option("--weights", type=click.Choice(["auto", "raw", "ema"]), default="auto", show_default=True,
              help="Generator weights: auto takes the EMA of G's weights where the run kept one.")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Softmax temperature of models that sample tokens (> 0; lower: safer, less varied samples).")
def sample(run: Path, n: int, out: Path | None, seed: int, label: int | None, interpolate: bool, pairs: int,
           steps: int, weights: str, temperature: float) -> None:
    """Draw samples from a run directory or checkpoint: save a picture, print text (sequence models),
    or with --interpolate draw walks between latents."""
    from ganzoo import api
    from ganzoo.errors import ConfigError
    from ganzoo.nets.base import check_temperature
    from ganzoo.render import TEXT_FORMS, as_text, suffix_for

    if check_temperature(temperature) != 1.0 and interpolate:
        raise ConfigError("--temperature is for models that sample tokens; --interpolate walks between latents")
    if interpolate:
        result = api.interpolate(run, pairs=pairs, steps=steps, seed=seed, label=label, out=out)
        click.echo(str(result.path))
        return
    loaded = api.load_run(run, weights=weights)
    if out is None and loaded.data_info.modality in TEXT_FORMS:
        samples = api.sample(run, n, seed=seed, label=label, weights=weights, temperature=temperature)
        for line in as_text(samples, loaded.data_info) or []:
            click.echo(line)
        return
    if out is None:
        base = loaded.run_dir or Path(".")
        out = base / "samples" / f"sample-seed{seed}{suffix_for(loaded.data_info)}"
    api.sample(run, n, seed=seed, label=label, out=out, weights=weights, temperature=temperature)
    click.echo(str(out))



@cli.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.argument("inputs", metavar="INPUT")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for the translated images (one per input, with the input's file name).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="a2b: the trained direction; b2a: back, for models that learn both (cyclegan).")
@click.option("--weights", type=click.Choice(["auto", "raw", "ema"]), default="auto", show_default=True,
              help="Generator weights: auto takes the EMA of G's weights where the run kept one.")
@click.option("--json", "as_json", is_flag=True, help="Print the written files as JSON.")
def translate(run: Path, inputs: str, out: Path, direction: str, weights: str, as_json: bool) -> None:
    """Translate INPUT (an image, a folder of images, or a split of the run's dataset such as 'test') with an
    image-to-image RUN."""
    import json

    from ganzoo import api

    result = api.translate(run, inputs, out, direction=direction, weights=weights)
    if as_json:
        click.echo(json.dumps({"out": str(result.out), "files": [str(f) for f in result.files]}))
    else:
        click.echo(f"{len(result.files)} translated images in {result.out}")

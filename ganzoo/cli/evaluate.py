"""`ganzoo eval` and `ganzoo fit-extractor`."""

from __future__ import annotations

from pathlib import Path

import click

from ganzoo.cli.app import cli, emit_json


@cli.command("eval")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--metrics", help="Comma-separated metrics (default: every default metric for the run's data).")
@click.option("--num-samples", type=click.IntRange(min=2), default=10_000, show_default=True, help="Generated samples.")
@click.option("--feature-extractor", default="auto", show_default=True,
              help="ganzoo-<dataset> (a domain classifier) or inception-v3-compat; auto: the dataset's own.")
@click.option("--inception-weights", type=click.Path(path_type=Path), help="Local Inception weights file (offline use).")
@click.option("--reference-split", help="Real split to compare against (default: the split the run trained on).")
@click.option("--num-real", type=click.IntRange(min=2), help="Cap on reference images (default: the whole split).")
@click.option("--batch-size", type=click.IntRange(min=1), default=250, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the generated samples.")
@click.option("--parzen-bandwidth", type=float,
              help="Fixed bandwidth of the parzen metric (pixels in [0, 1]; default: chosen on validation images).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or auto.")
@click.option("--weights", type=click.Choice(["auto", "raw", "ema"]), default="auto", show_default=True,
              help="Generator weights to score: auto takes the EMA of G's weights where the run kept one.")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Softmax temperature a model that samples tokens is scored at (> 0; recorded with the scores).")
@click.option("--temperature-sweep", "sweep", metavar="T1,T2,...",
              help="Score at each of these temperatures (e.g. 0.5,0.7,1,1.3) and write the quality-diversity curve.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Where --temperature-sweep writes its curve (default: RUN/temperature-sweep.json).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (scores and their protocol).")
def eval_command(run: Path, metrics: str | None, num_samples: int, feature_extractor: str, inception_weights: Path | None,
                 reference_split: str | None, num_real: int | None, batch_size: int, seed: int,
                 parzen_bandwidth: float | None, device: str, weights: str, temperature: float, sweep: str | None,
                 out: Path | None, as_json: bool) -> None:
    """Score a run directory or checkpoint (FID / IS / KID for images; each variant's own for other data).

    With --temperature-sweep a model that samples tokens is scored at each temperature under one protocol;
    `ganzoo plot --quality-diversity RUN...` draws the curves of several runs on one figure.
    """
    from ganzoo import api
    from ganzoo.metrics.base import describe_protocols, format_scores
    from ganzoo.metrics.protocol import EvalProtocol

    protocol = EvalProtocol(
        metrics=metrics, num_samples=num_samples, batch_size=batch_size, seed=seed,
        feature_extractor=feature_extractor, inception_weights=str(inception_weights) if inception_weights else None,
        reference_split=reference_split, num_real=num_real, parzen_bandwidth=parzen_bandwidth,
    )
    if sweep is not None or out is not None:
        _sweep(run, sweep, out, temperature, protocol, device, weights, as_json)
        return
    report = api.evaluate(run, protocol, device=device, progress=None, weights=weights, temperature=temperature)
    if as_json:
        emit_json({"run": str(run), **report.to_json()})
        return
    at = f", temperature {report.temperature:g}" if report.temperature is not None else ""
    click.echo(f"step {report.step} ({report.weights} weights{at}): {format_scores(report.scores)}")
    click.echo(f"protocol: {describe_protocols(report.protocols)}")
    click.echo(f"took {report.seconds:.1f} s")


def _sweep(run: Path, sweep: str | None, out: Path | None, temperature: float, protocol: object, device: str,
           weights: str, as_json: bool) -> None:
    """`ganzoo eval --temperature-sweep`: one line per temperature as it is scored, then where the curve went."""
    from ganzoo.errors import ConfigError
    from ganzoo.metrics.base import format_scores
    from ganzoo.sweeping import parse_temperatures, sweep_temperatures

    if sweep is None:
        raise ConfigError("--out is where --temperature-sweep writes its curve; give --temperature-sweep too")
    if temperature != 1.0:
        raise ConfigError("--temperature-sweep sets the temperatures; leave out --temperature")

    def report(t: float, scores: dict[str, float]) -> None:
        if not as_json:
            click.echo(f"temperature {t:g}: {format_scores(scores)}")

    curve, path = sweep_temperatures(run, parse_temperatures(sweep), protocol, device, weights=weights, out=out,
                                     progress=report)
    if as_json:
        emit_json({"path": str(path), **curve.to_json()})
        return
    click.echo(f"curve: {path}")


@cli.command("fit-extractor")
@click.option("--dataset", required=True, help="A labelled image dataset (see `ganzoo list datasets`).")
@click.option("--data-root", type=click.Path(path_type=Path), help="Where the dataset's files are.")
@click.option("--split", default="train", show_default=True, help="Split to train the classifier on.")
@click.option("--heldout-split", default="auto", show_default=True,
              help="Split to measure accuracy on (auto: the dataset's own, e.g. test). Without one (none, a folder, or a "
                   "split missing on disk) a seeded 20% of --split is held out from fitting instead.")
@click.option("--image-size", type=int, help="Resize images (default: the dataset's size).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Weights file (default: ganzoo's cache, found by name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def fit_extractor_command(dataset: str, data_root: Path | None, split: str, heldout_split: str, image_size: int | None,
                          epochs: int, seed: int, out: Path | None, as_json: bool) -> None:
    """Train the domain feature extractor `ganzoo-DATASET` (a small CNN classifier) for image scores.

    A folder's is named after the folder, `ganzoo-folder-<name>-<digest8>`, and scores only runs on that folder.
    """
    from ganzoo import api

    result = api.fit_extractor(dataset, data_root=data_root, split=split,
                               heldout_split=None if heldout_split == "none" else heldout_split,
                               image_size=image_size, epochs=epochs, seed=seed, out=out)
    if as_json:
        emit_json({"path": str(result.path), **result.meta})
        return
    meta = result.meta
    click.echo(f"{meta['name']}: held-out accuracy {result.accuracy:.4f} on {meta['heldout_size']} images, "
               f"fitted on {meta['train_size']}")
    click.echo(f"held out: {result.heldout}")
    click.echo(f"weights: {result.path}")

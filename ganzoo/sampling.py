"""Loading a trained generator from a run directory or checkpoint, and sampling from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.config import RunConfig
from ganzoo.configure import resolve_run
from ganzoo.data.base import DataInfo, UnpairedData
from ganzoo.data.loading import load_data
from ganzoo.device import resolve_device
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.extensions.ema import EMAGenerator, averaged_copy
from ganzoo.nets.base import Discriminator, Generator, check_temperature, temperature_keywords
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.render import grid_labels, save_samples, translation_rows
from ganzoo.spec import ModelSpec
from ganzoo.storage.checkpoint import Checkpoint, read_checkpoint
from ganzoo.storage.rundir import RunDir
from ganzoo.trainer.setup import build_models, describe_mismatch, extension_group

EMA_GROUP = extension_group(EMAGenerator)


@dataclass
class LoadedRun:
    """A trained model read back from disk."""

    spec: ModelSpec
    config: RunConfig
    data_info: DataInfo
    generator: Generator
    discriminator: Discriminator | None
    checkpoint: Checkpoint
    weights: str = "raw"
    """Which weights ``generator`` holds: "raw" (G as trained) or "ema" (its moving average)."""

    @property
    def step(self) -> int:
        return self.checkpoint.step

    @property
    def run_dir(self) -> Path | None:
        """The run directory the checkpoint lives in, when it is in one."""
        candidate = self.checkpoint.path.parent.parent
        return candidate if RunDir(candidate).is_run() else None


def checkpoint_file(path: str | Path) -> Path:
    """A run directory -> its latest checkpoint; a checkpoint file -> itself."""
    path = Path(path)
    if path.is_dir():
        return RunDir.open(path).latest_checkpoint()
    if not path.exists():
        raise CheckpointError(f"{path}: no such run directory or checkpoint")
    return path


WEIGHTS = ("auto", "raw", "ema")


def choose_weights(checkpoint: Checkpoint, weights: str) -> str:
    """"raw" or "ema" for a checkpoint: auto takes the EMA weights when the run kept them."""
    if weights not in WEIGHTS:
        raise ConfigError(f"--weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    has_ema = bool(checkpoint.module_state(EMA_GROUP))
    if weights == "ema" and not has_ema:
        raise ConfigError(f"--weights ema: {checkpoint.path} was trained without --ema, so it has no EMA weights")
    if weights == "auto":
        return "ema" if has_ema else "raw"
    return weights


def load_run(path: str | Path, device: str = "cpu", registry: Registry | None = None,
             weights: str = "auto") -> LoadedRun:
    """Rebuild G and D from a checkpoint's stored configuration and load their weights (eval mode).

    ``weights``: "auto" (the EMA of G's weights where the run kept one, else G), "raw" or "ema".
    """
    registry = registry or get_registry()
    checkpoint = read_checkpoint(checkpoint_file(path))
    meta = checkpoint.meta
    if meta["model"] not in registry.models:
        raise CheckpointError(f"{checkpoint.path} is a checkpoint of model {meta['model']!r}, which is not installed "
                              f"here (installed: {', '.join(registry.models.names()) or 'none'})")
    spec, config = resolve_run(registry, meta["model"], {}, stored=checkpoint.config)
    try:
        info = DataInfo.from_json(meta["data_info"])
        generator, discriminator = build_models(spec, info, config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{checkpoint.path}: its stored configuration does not fit {spec.name!r} as installed "
                              f"now ({type(exc).__name__}: {exc})") from None
    for name, module in (("generator", generator), ("discriminator", discriminator)):
        if module is None:
            continue
        try:
            module.load_state_dict(checkpoint.module_state(name))
        except RuntimeError as exc:
            raise CheckpointError(
                f"{checkpoint.path}: its {name} does not fit {spec.name!r} as installed now ({describe_mismatch(exc)})"
            ) from None
    chosen = choose_weights(checkpoint, weights)
    target = resolve_device(device)
    for module in (generator, discriminator):
        if module is not None:
            module.to(target).eval()
    if chosen == "ema":
        generator = averaged_copy(generator, checkpoint.module_state(EMA_GROUP))
    return LoadedRun(spec, config, info, generator, discriminator, checkpoint, chosen)


def load(path: str | Path, device: str = "cpu", weights: str = "auto") -> Generator:
    """The trained generator of a run directory or checkpoint, in eval mode (its EMA weights where it has them,
    unless ``weights="raw"``)."""
    return load_run(path, device, weights=weights).generator


def check_labels(generator: Generator, labels: Tensor | None) -> None:
    """Reject labels a conditional generator cannot take, or labels for an unconditional one."""
    if labels is None:
        return
    if generator.num_classes <= 0:
        raise ConfigError("this model is not conditional; it takes no --label")
    bad = labels[(labels < 0) | (labels >= generator.num_classes)]
    if len(bad):
        raise ConfigError(f"label {int(bad[0])} is outside this model's classes 0..{generator.num_classes - 1}")


def sample(
    path: str | Path,
    n: int = 64,
    *,
    seed: int = 0,
    label: int | None = None,
    out: str | Path | None = None,
    device: str = "cpu",
    weights: str = "auto",
    temperature: float = 1.0,
) -> Tensor:
    """Draw ``n`` samples (a class grid for conditional models unless ``label`` is given; translations of the
    first ``n`` held-out source images for an image-to-image model).

    ``temperature`` divides the logits of a model that samples tokens before each softmax (lower: safer,
    less varied samples; 1: the model's own distribution); other models take only 1. With ``out`` the
    samples are also rendered to that file (PNG for images and points, text for sequences; for
    translations a grid in rows of source | translated | target).
    """
    if n < 1:
        raise ConfigError(f"number of samples must be positive, got {n}")
    check_temperature(temperature)
    loaded = load_run(path, device, weights=weights)
    G = loaded.generator
    keywords = temperature_keywords(G, temperature, loaded.data_info.modality)
    noise = torch.Generator().manual_seed(seed)
    if label is not None:
        labels = torch.full((n,), int(label), dtype=torch.long)
        check_labels(G, labels)
        labels, nrow = labels.to(G.device), None
    elif G.image_conditioned:  # translations of the first held-out sources, in rows of source | translated | target
        sources, targets = split_sources(loaded, heldout_split(loaded))
        sources, targets = sources[:n].to(G.device), targets[:n] if targets is not None else None
        with torch.no_grad():
            translated = G.sample(len(sources), labels=sources, generator=noise, **keywords)
        if out is not None:
            cells, nrow = translation_rows(sources.cpu(), translated.float().cpu(), targets)
            save_samples(cells, Path(out), loaded.data_info, nrow)
        return translated
    else:
        labels, nrow = grid_labels(G, n)
        if labels is not None:
            n = len(labels)
    with torch.no_grad():
        samples = G.sample(n, labels=labels, generator=noise, **keywords)
    if out is not None:
        save_samples(samples, Path(out), loaded.data_info, nrow)
    return samples



def heldout_split(loaded: LoadedRun) -> str:
    """The split a translation run is shown and scored on: its dataset's held-out split, else its own."""
    return get_registry().dataset(loaded.config["dataset"]).heldout_split or str(loaded.config["split"])


def split_sources(loaded: LoadedRun, split: str, direction: str = "a2b") -> tuple[Tensor, Tensor | None]:
    """Sources of a split of the run's dataset and their true targets where the split pairs them (else None).

    For b2a the roles swap: the split's targets are translated back and its sources are the truth.
    """
    data = load_data(get_registry(), loaded.config, split=split)
    paired = bool(data.info.extras.get("paired", False))
    if isinstance(data, UnpairedData):  # two domains of their own sizes
        a, b = UnpairedData._convert(data.a.clone()), UnpairedData._convert(data.b.clone())
    else:
        batches = list(data.iterate(256))
        a = torch.cat([batch.condition.float().cpu() for batch in batches])
        b = torch.cat([batch.x.float().cpu() for batch in batches])
    if direction == "b2a":
        a, b = b, a
    return a, (b if paired else None)

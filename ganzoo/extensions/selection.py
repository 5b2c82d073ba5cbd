"""From a run's trainer options to the training extensions the driver applies.

``ema`` selects the averaging extension, ``augment`` one augmentation, each ``reg`` a regulariser
and each ``extensions`` item any registered extension, a third party's included. Everything is
checked here, before a run directory is written: unknown names (with a did-you-mean), an extension
asked for through the wrong option, one that does not suit the model, bad arguments.
"""

from __future__ import annotations

from collections.abc import Iterator

from ganzoo.config import RunConfig
from ganzoo.driver.state import TrainingExtension
from ganzoo.errors import ConfigError, unknown_name
from ganzoo.registry import Registry
from ganzoo.spec import ExtensionSpec, ModelSpec

OPTION_OF_KIND = {"average": "ema", "augment": "augment", "reg": "reg", "other": "extensions"}


def requested(config: RunConfig) -> Iterator[tuple[str, str, str]]:
    """(option, extension name, arguments) for every extension the run's options ask for."""
    if config.get("ema") is not None:
        yield "ema", "ema", repr(float(config["ema"]))
    if config.get("augment"):
        name, _, args = str(config["augment"]).partition(":")
        yield "augment", name.strip(), args.strip()
    for option in ("reg", "extensions"):
        for item in config.get(option) or ():
            name, _, args = str(item).partition(":")
            yield option, name.strip(), args.strip()


def _check_fits(spec: ExtensionSpec, option: str, model: ModelSpec) -> None:
    wanted = OPTION_OF_KIND[spec.kind]
    if option != "extensions" and wanted != option:
        raise ConfigError(f"{spec.name} is not asked for with {option}: use {wanted} ({spec.usage or spec.name})")
    if spec.modalities and not set(model.modalities) & set(spec.modalities):
        raise ConfigError(f"{spec.name} works on {'/'.join(spec.modalities)} models; {model.name} is "
                          f"{'/'.join(model.modalities)}")
    if spec.needs_discriminator and not model.has_discriminator:
        raise ConfigError(f"{spec.name} acts on a discriminator; {model.name} has none")
    if spec.kind in ("augment", "reg") and (model.train_step or model.phases):
        raise ConfigError(f"{spec.name} is applied by the shared k-step driver; {model.name} trains with its own step")


def build_extensions(registry: Registry, model: ModelSpec, config: RunConfig) -> list[TrainingExtension]:
    """Fresh extensions for one run, in a fixed order (EMA, augmentation, regularisers, the rest)."""
    table = registry.extensions
    out: list[TrainingExtension] = []
    for option, name, args in requested(config):
        if not name:
            raise ConfigError(f"{option}: give an extension name (ganzoo list extensions)")
        if name not in table.entries or name in table.conflicts:
            candidates = [n for n in table.names()
                          if option == "extensions" or OPTION_OF_KIND[table.get(n).value.kind] == option]
            raise unknown_name({"augment": "augmentation", "reg": "regulariser"}.get(option, "training extension"),
                               name, candidates)
        spec = table.get(name).value
        _check_fits(spec, option, model)
        extension = spec.build(args, config)
        if not isinstance(extension, TrainingExtension):
            raise TypeError(f"extension {name!r}: build returned {type(extension).__name__}, not a TrainingExtension")
        out.append(extension)
    names = [e.name for e in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"training extension {twice[0]!r} is asked for twice")
    return out


def number(args: str, what: str, usage: str) -> float:
    """A numeric argument of an extension (``r1:10`` -> 10.0), or one clear line."""
    try:
        return float(args)
    except ValueError:
        raise ConfigError(f"{what} must be a number ({usage}), got {args!r}") from None

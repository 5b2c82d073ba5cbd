"""The built-in training extensions as registered specs, with the parsing of their arguments."""

from __future__ import annotations

from ganzoo.config import RunConfig
from ganzoo.errors import ConfigError
from ganzoo.extensions.augment import ADA, DiffAugment, parse_policy
from ganzoo.extensions.ema import EMAGenerator
from ganzoo.extensions.regularizers import R1, LeCam
from ganzoo.extensions.selection import number
from ganzoo.spec import ExtensionSpec


def _ema(args: str, config: RunConfig) -> EMAGenerator:
    return EMAGenerator(number(args, "ema", "--ema DECAY"), int(config["ema_start"]), float(config["ema_ramp"]))


def _diffaugment(args: str, config: RunConfig) -> DiffAugment:
    return DiffAugment(parse_policy(args))


def _ada(args: str, config: RunConfig) -> ADA:
    target = number(args, "ada's target", "--augment ada:TARGET") if args else 0.6
    return ADA(target, float(config["ada_kimg"]))


def _r1(args: str, config: RunConfig) -> R1:
    gamma_text, _, every_text = args.partition(":")
    if not gamma_text:
        raise ConfigError("r1 needs its weight: --reg r1:GAMMA[:EVERY] (e.g. r1:10)")
    gamma = number(gamma_text, "r1's gamma", "r1:GAMMA[:EVERY]")
    if gamma < 0:
        raise ConfigError(f"r1's gamma must be >= 0, got {gamma:g}")
    every = number(every_text, "r1's interval", "r1:GAMMA[:EVERY]") if every_text else 1
    if every < 1 or every != int(every):
        raise ConfigError(f"r1's interval must be a whole number >= 1, got {every_text}")
    return R1(gamma, int(every))


def _lecam(args: str, config: RunConfig) -> LeCam:
    if not args:
        raise ConfigError("lecam needs its weight: --reg lecam:WEIGHT (e.g. lecam:0.3)")
    weight = number(args, "lecam's weight", "lecam:WEIGHT")
    if weight < 0:
        raise ConfigError(f"lecam's weight must be >= 0, got {weight:g}")
    return LeCam(weight)


EXTENSION_SPECS = [
    ExtensionSpec("ema", "exponential moving average of G's weights, sampled and scored instead of G", _ema,
                  kind="average", usage="--ema DECAY", modalities=(), needs_discriminator=False),
    ExtensionSpec("diffaugment", "DiffAugment (Zhao et al. 2020): colour, translation and cutout of real and fake "
                  "images before every D call", _diffaugment, kind="augment",
                  usage="--augment diffaugment[:color,translation,cutout]"),
    ExtensionSpec("ada", "adaptive augmentation (Karras et al. 2020): p driven by r_t = E[sign(D(real))] toward a target",
                  _ada, kind="augment", usage="--augment ada[:TARGET]"),
    ExtensionSpec("r1", "R1 gradient penalty on real images (Mescheder et al. 2018), optionally lazy", _r1, kind="reg",
                  usage="--reg r1:GAMMA[:EVERY]", modalities=("image", "points")),
    ExtensionSpec("lecam", "LeCam regulariser (Tseng et al. 2021): D's outputs anchored to moving averages", _lecam,
                  kind="reg", usage="--reg lecam:WEIGHT", modalities=()),
]

"""Feature extractors for image scores, resolved by name and registered with torch-fidelity.

`ganzoo-<dataset>`: a small CNN classifier ganzoo trains itself (``ganzoo fit-extractor``);
pooled features for FID / KID / precision-recall, logits for IS. Weights for `digits` ship
inside the package; others live in the user cache after ``fit-extractor``. Data that records an
identity (a folder of images) gets `ganzoo-<dataset>-<name>-<digest8>`, and is refused for a run
on other data.
`inception-v3-compat`: torch-fidelity's Inception, the one papers use (weights supplied offline).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch import Tensor, nn
from torch_fidelity import FeatureExtractorBase, register_feature_extractor
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from ganzoo.errors import ConfigError

DOMAIN_PREFIX = "ganzoo-"
INCEPTION = "inception-v3-compat"
PACKAGED_WEIGHTS = Path(__file__).parent / "weights"
FEATURES = ("pool", "logits_unbiased")
CACHE_ENV = "GANZOO_CACHE"


def cache_dir() -> Path:
    """ganzoo's cache: $GANZOO_CACHE or ~/.cache/ganzoo."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DomainCNN(nn.Module):
    """A small classifier for small images: three conv blocks, global average pool, linear head."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(in_channels, width), *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),
            *block(2 * width, 4 * width),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Images in [-1, 1] -> (pooled features, class logits)."""
        pooled = self.features(x)
        return pooled, self.head(self.dropout(pooled))


@dataclass(frozen=True)
class DomainWeights:
    """A fitted domain classifier: where its weights are and what its metadata says."""

    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def image_size(self) -> int:
        return int(self.meta["image_size"])

    @property
    def channels(self) -> int:
        return int(self.meta["channels"])

    @property
    def num_classes(self) -> int:
        return int(self.meta["num_classes"])

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)

    def build(self) -> DomainCNN:
        """The classifier with these weights loaded, in eval mode."""
        model = DomainCNN(self.channels, self.num_classes, int(self.meta.get("width", 32)))
        model.load_state_dict(load_file(str(self.path)))
        return model.eval()


def read_domain_meta(path: Path) -> dict[str, Any]:
    """The JSON metadata stored in a domain classifier's safetensors file."""
    with safe_open(str(path), framework="pt") as handle:
        header = handle.metadata() or {}
    if "ganzoo_extractor" not in header:
        raise ConfigError(f"{path} is not a ganzoo feature extractor file")
    return json.loads(header["ganzoo_extractor"])


def domain_weights_path(name: str) -> Path | None:
    """Where the weights of domain extractor ``name`` are (package first, then the cache)."""
    for folder in (PACKAGED_WEIGHTS, cache_dir() / "extractors"):
        path = folder / f"{name}.safetensors"
        if path.is_file():
            return path
    return None


def domain_weights(name: str, fit_command: str | None = None) -> DomainWeights:
    """Resolve a `ganzoo-<dataset>` extractor, or explain how to make one (``fit_command``, when the data is known)."""
    path = domain_weights_path(name)
    if path is None:
        command = fit_command or f"ganzoo fit-extractor --dataset {name.removeprefix(DOMAIN_PREFIX)}"
        raise ConfigError(f"no feature extractor {name!r}: fit one with `{command}` (or choose --feature-extractor {INCEPTION})")
    return DomainWeights(name, path, read_domain_meta(path))


def extractor_name(dataset: str, identity: Mapping[str, Any] | None = None) -> str:
    """The domain extractor of a dataset: `ganzoo-<dataset>`, or `ganzoo-<dataset>-<name>-<digest8>` for data with an
    identity (a folder), so that each folder gets its own and two can be told apart by name."""
    if identity is None:
        return DOMAIN_PREFIX + dataset
    return f"{DOMAIN_PREFIX}{dataset}-{identity['name']}-{str(identity['digest'])[:8]}"


def fit_command(dataset: str, identity: Mapping[str, Any] | None = None) -> str:
    """The command that fits the extractor of this data."""
    root = f" --data-root {identity['root']}" if identity is not None else ""
    return f"ganzoo fit-extractor --dataset {dataset}{root}"


class ExtractorDataMismatch(ConfigError):
    """A domain extractor fitted on other data than a run's: its features and held-out accuracy say nothing about it."""


def _describe(dataset: str, identity: Mapping[str, Any] | None) -> str:
    if identity is None:
        return dataset
    return f"{dataset} {identity['root']} ({identity['files']} images, digest {str(identity['digest'])[:8]})"


def check_fitted_on(weights: DomainWeights, dataset: str, identity: Mapping[str, Any] | None) -> None:
    """Refuse a domain extractor fitted on a folder that is not the run's data, or on an unrecorded one of its dataset.

    An extractor of a fixed dataset (`ganzoo-digits`) stays usable on other data as a declared, shared feature
    space: the CPU leaderboard scores its MNIST runs with it, and every protocol names the extractor.
    """
    fitted = weights.meta.get("identity")
    if fitted is not None and fitted.get("digest") != (identity or {}).get("digest"):
        where = f"{weights.name} was fitted on {_describe(str(weights.meta.get('dataset')), fitted)}"
    elif fitted is None and identity is not None and weights.meta.get("dataset") == dataset:
        where = f"{weights.name} does not record which {dataset} data it was fitted on (an older ganzoo made it)"
    else:
        return
    raise ExtractorDataMismatch(f"{where}, not on this run's {_describe(dataset, identity)}; "
                                f"fit one for this data with `{fit_command(dataset, identity)}`")


def known_domain_extractors() -> list[str]:
    """Names of every domain extractor available here."""
    names = set()
    for folder in (PACKAGED_WEIGHTS, cache_dir() / "extractors"):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob(f"{DOMAIN_PREFIX}*.safetensors"))
    return sorted(names)


class DomainFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity adapter: uint8 (B, 3, H, W) -> ('pool', 'logits_unbiased') of a DomainCNN."""

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, features_list)
        path = Path(feature_extractor_weights_path)
        weights = DomainWeights(name, path, read_domain_meta(path))
        self.model = weights.build()
        self.size = weights.image_size
        self.channels = weights.channels
        self.requires_grad_(False)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return FEATURES

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"isc": "logits_unbiased", "fid": "pool", "kid": "pool", "prc": "pool"}[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        return torch.zeros(1, 3, 32, 32, dtype=torch.uint8)

    def forward(self, images: Tensor) -> tuple[Tensor, ...]:
        x = images.float().div(127.5).sub(1.0)
        if self.channels == 1:
            x = x.mean(dim=1, keepdim=True)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        pooled, logits = self.model(x)
        by_name = {"pool": pooled, "logits_unbiased": logits}
        return tuple(by_name[name] for name in self.features_list)


@cache
def _register(name: str, cls: type) -> None:
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(name, cls)


@dataclass(frozen=True)
class ResolvedExtractor:
    """An extractor ready for torch-fidelity: its registered name, weights file and their hash."""

    name: str
    weights_path: Path
    weights_sha256: str
    input_size: int | None
    """The image size the network sees (None: torch-fidelity resizes internally)."""

    def create(self, features: list[str], cuda: bool) -> FeatureExtractorBase:
        """Instantiate it through torch-fidelity's registry."""
        from torch_fidelity.utils import create_feature_extractor

        return create_feature_extractor(
            self.name, features, cuda=cuda, feature_extractor_weights_path=str(self.weights_path), verbose=False
        )

    def protocol(self) -> dict[str, Any]:
        return {"feature_extractor": self.name, "extractor_weights_sha256": self.weights_sha256}


def resolve_extractor(name: str, inception_weights: str | Path | None = None) -> ResolvedExtractor:
    """Find the weights of an extractor by name; fail fast with a clear line when they are missing."""
    if name == INCEPTION:
        from ganzoo.metrics.inception import resolve_inception_weights

        path = resolve_inception_weights(inception_weights)
        return ResolvedExtractor(name, path, file_sha256(path), None)
    if name.startswith(DOMAIN_PREFIX):
        weights = domain_weights(name)
        _register(name, DomainFeatureExtractor)
        return ResolvedExtractor(name, weights.path, weights.sha256, weights.image_size)
    known = [INCEPTION, *known_domain_extractors()]
    raise ConfigError(f"unknown feature extractor {name!r} (known here: {', '.join(known)})")


def default_extractor(dataset: str, identity: Mapping[str, Any] | None = None) -> str:
    """The domain extractor for a dataset (and its identity, for a folder) when one exists here, else Inception."""
    name = extractor_name(dataset, identity)
    return name if domain_weights_path(name) is not None else INCEPTION

"""The contracts between ganzoo's core and its plugins.

A plugin registers a :class:`ModelSpec` (a GAN variant), a :class:`LossSpec` or a
:class:`DatasetSpec`. Generators and discriminators subclass :class:`Generator` and
:class:`Discriminator`, which fix how the trainer, the samplers and the metrics call them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ganzoo.data.base import DataRequest, LoadedData
    from ganzoo.trainer.state import TrainState

Modality = Literal["image", "sequence", "points"]
MODALITIES: tuple[str, ...] = ("image", "sequence", "points")


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build itself."""

    modality: str
    shape: tuple[int, ...]
    """One sample's shape: (C, H, W) for images, (L,) for sequences, (D,) for points."""
    num_classes: int = 0
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Modality-specific facts, e.g. ``vocab_size`` for sequences."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored in config.json and checkpoint metadata)."""
        out = asdict(self)
        out["shape"] = list(self.shape)
        out["extras"] = dict(self.extras)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DataInfo:
        """Inverse of :meth:`to_json`."""
        return cls(
            modality=data["modality"],
            shape=tuple(int(s) for s in data["shape"]),
            num_classes=int(data.get("num_classes", 0)),
            extras=dict(data.get("extras", {})),
        )


@dataclass(frozen=True)
class BuildContext:
    """Everything a builder of G or D receives: the data facts and resolved hyper-parameters."""

    data: DataInfo
    hparams: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.hparams[key]


class Generator(nn.Module):
    """A generator: latent z (and optional class labels) -> samples.

    Subclasses call ``super().__init__(latent_dim, output_shape, num_classes)`` and implement
    :meth:`forward`. Variants whose sampling is not a single forward pass (autoregressive text,
    say) override :meth:`sample` instead.
    """

    def __init__(self, latent_dim: int, output_shape: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.output_shape = tuple(int(s) for s in output_shape)
        self.num_classes = int(num_classes)

    @property
    def device(self) -> torch.device:
        """The device of the first parameter (CPU for a parameter-free module)."""
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw n latent vectors from the prior N(0, I)."""
        if generator is not None and generator.device != self.device:
            z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device)
            return z.to(self.device)
        return torch.randn(n, self.latent_dim, generator=generator, device=self.device)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniform class labels for a conditional generator, None for an unconditional one."""
        if self.num_classes <= 0:
            return None
        gen_device = generator.device if generator is not None else self.device
        labels = torch.randint(self.num_classes, (n,), generator=generator, device=gen_device)
        return labels.to(self.device)

    def sample(
        self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Generate n samples (labels drawn uniformly when the model is conditional and none given)."""
        if labels is None:
            labels = self.sample_labels(n, generator)
        return self(self.sample_latent(n, generator), labels)


class Discriminator(nn.Module):
    """A discriminator: samples (and optional class labels) -> raw logits of shape (B,)."""

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss given as two pure functions of discriminator logits."""

    name: str
    description: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    """(real_logits, fake_logits) -> scalar discriminator loss."""
    g_loss: Callable[[Tensor], Tensor]
    """fake_logits -> scalar generator loss."""
    paper: str = ""


@dataclass(frozen=True)
class Phase:
    """A stretch of training with its own step function (e.g. SeqGAN's MLE pre-training)."""

    name: str
    steps: int
    step: Callable[[TrainState], Mapping[str, Tensor]]


StepFn = Callable[["TrainState"], Mapping[str, Tensor]]


def _default_step(state: TrainState) -> Mapping[str, Tensor]:
    from ganzoo.trainer.adversarial import adversarial_step

    return adversarial_step(state)


@dataclass(frozen=True)
class ModelSpec:
    """A GAN variant as a plugin registers it.

    ``defaults`` holds both trainer options (``steps``, ``batch_size``, ``lr_g``, ``lr_d``,
    ``betas``, ``d_steps``, ``loss``, ``dataset``, ...) and the variant's own hyper-parameters;
    users override any of them with CLI options or ``--set key=value``. ``bounds`` gives the
    valid (low, high) range of numeric hyper-parameters (either end may be None).
    """

    name: str
    description: str
    paper: str
    modality: str | tuple[str, ...]
    """The data it trains on: one of MODALITIES, or a tuple of them (the first is the default)."""
    build_generator: Callable[[BuildContext], Generator]
    build_discriminator: Callable[[BuildContext], Discriminator]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    train_step: StepFn = _default_step
    """One generator step; the default is Algorithm 1 of Goodfellow et al. 2014 (k D-steps, 1 G-step)."""
    phases: Callable[[Mapping[str, Any]], list[Phase]] | None = None
    """Optional schedule of phases; the default is one 'adversarial' phase of ``train_step``."""
    build_optimizers: Callable[[TrainState], dict[str, torch.optim.Optimizer]] | None = None
    """Optional; the default is Adam for 'generator' and 'discriminator' from lr_g/lr_d/betas."""
    build_extras: Callable[[BuildContext, Generator, Discriminator], dict[str, nn.Module]] | None = None
    """Optional extra modules kept in the train state and checkpoints (e.g. a rollout policy)."""
    conditional: bool = False
    """True when G and D need class labels: the dataset must then be labelled."""

    def __post_init__(self) -> None:
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if unknown or not self.modalities:
            raise ValueError(f"model {self.name!r}: modality must be among {MODALITIES}, got {self.modality!r}")

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities this variant supports, the default first."""
        return (self.modality,) if isinstance(self.modality, str) else tuple(self.modality)

    def schedule(self, hparams: Mapping[str, Any]) -> list[Phase]:
        """The phases this variant trains through for the given hyper-parameters."""
        if self.phases is not None:
            return list(self.phases(hparams))
        return [Phase("adversarial", int(hparams["steps"]), self.train_step)]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as a plugin registers it."""

    name: str
    description: str
    modality: str
    load: Callable[[DataRequest], LoadedData]
    labelled: bool = False
    source: str = ""
    """Where the data comes from (for ``ganzoo info``)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Dataset options users may set with ``--set`` (e.g. ``channels`` of a folder dataset)."""
    heldout_split: str | None = "test"
    """The split with other examples than the training split's, or None when every split is the same
    examples (a folder): ``fit-extractor`` then holds out part of the training split instead."""


def spec_summary(spec: ModelSpec) -> dict[str, Any]:
    """A JSON-ready description of a model spec (for ``ganzoo info``)."""
    return {
        "name": spec.name,
        "description": spec.description,
        "paper": spec.paper,
        "modality": list(spec.modalities),
        "conditional": spec.conditional,
        "defaults": json.loads(json.dumps(dict(spec.defaults), default=str)),
        "bounds": {k: list(v) for k, v in spec.bounds.items()},
        "custom_train_step": spec.train_step is not _default_step or spec.phases is not None,
    }

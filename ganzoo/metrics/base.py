"""The metric contract and the evaluation driver.

A plugin registers a :class:`MetricSpec`; ``ganzoo eval`` and ``--eval-every`` call its
``compute`` with an :class:`EvalContext` and record the scores *with their protocol*: how
they were computed (extractor and its weights hash, sample counts, reference split, ...).
Scores under different protocols are never comparable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.data.base import DataInfo, LoadedData
from ganzoo.data.loading import load_data
from ganzoo.errors import ConfigError
from ganzoo.metrics.protocol import DEFAULT_NUM_SAMPLES
from ganzoo.nets.base import Generator, temperature_keywords
from ganzoo.registry import Registry
from ganzoo.storage.rundir import RunDir


@dataclass(frozen=True)
class MetricResult:
    """Scores by name (e.g. {'isc': 9.1, 'isc_std': 0.2}) and the protocol that produced them."""

    scores: Mapping[str, float]
    protocol: Mapping[str, Any] = field(default_factory=dict)
    better: Mapping[str, str] = field(default_factory=dict)
    """'higher' or 'lower' for score keys only known when computing (e.g. one per class)."""


@dataclass
class EvalContext:
    """What a metric may use: the generator, its run's facts, evaluation options, a shared cache."""

    generator: Generator
    config: Mapping[str, Any]
    data_info: DataInfo
    run_dir: Path | None
    requested: list[str]
    num_samples: int = DEFAULT_NUM_SAMPLES
    batch_size: int = 250
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    options: dict[str, Any] = field(default_factory=dict)
    """Evaluation options: feature_extractor, inception_weights, reference_split, ..."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Shared by the metrics of one evaluation (e.g. features computed once for FID and KID)."""
    registry: Registry | None = None
    """Where the run's dataset is looked up (needed by metrics that read real data)."""
    native: EvalContext | None = None
    """For a run on data held at its native resolution (digits' ``data.native``), image scores see the generator
    and data through the dataset's default view (this context); ``native`` is the run's own generator and data,
    which likelihood metrics score."""
    temperature: float = 1.0
    """The softmax temperature samples are drawn at (generators that sample tokens; 1 for every other): a setting
    of the run scored, recorded beside the scores (:attr:`EvalReport.temperature`), not in their protocols."""

    def sample_keywords(self) -> dict[str, float]:
        """The keywords ``generator.sample`` takes for :attr:`temperature` (none for a model without one)."""
        return temperature_keywords(self.generator, self.temperature, self.data_info.modality)

    @property
    def own(self) -> EvalContext:
        """The run's own generator and data (``native`` where this context is a view of them, else itself)."""
        return self.native or self

    def real_data(self, split: str | None = None) -> LoadedData:
        """The run's dataset (default split: the evaluation's reference split), loaded once."""
        if self.registry is None:
            raise ValueError("this EvalContext has no registry, so it cannot load the run's real data")
        split = split or self.options.get("reference_split") or self.config.get("split", "train")
        key = f"real-data:{split}"
        if key not in self.cache:
            self.cache[key] = load_data(self.registry, self.config, split=split)
        return self.cache[key]

    def data_artifacts(self) -> dict[str, torch.Tensor]:
        """Tensors the data kept with the run (RUN/data.safetensors, e.g. a synthetic oracle).

        Without a run directory (a bare checkpoint) they are rebuilt by loading the data.
        """
        if "data-artifacts" not in self.cache:
            kept = RunDir(self.run_dir).read_data_artifacts() if self.run_dir is not None else None
            if kept is None:
                kept = self.real_data(self.config.get("split", "train")).artifacts()
            self.cache["data-artifacts"] = kept
        return self.cache["data-artifacts"]


def generated_samples(ctx: EvalContext) -> Tensor:
    """``ctx.num_samples`` samples of the context's generator (float, CPU), drawn once per evaluation from the seed
    (at the context's temperature, for a generator that samples tokens)."""
    if "generated" not in ctx.cache:
        noise = torch.Generator().manual_seed(int(ctx.seed))
        keywords = ctx.sample_keywords()
        chunks, left = [], ctx.num_samples
        while left > 0:
            n = min(left, ctx.batch_size)
            chunks.append(ctx.generator.sample(n, generator=noise, **keywords).float().cpu())
            left -= n
        ctx.cache["generated"] = torch.cat(chunks)
    return ctx.cache["generated"]


@dataclass(frozen=True)
class MetricSpec:
    """A score a plugin registers.

    ``better`` maps every score key ``compute`` returns to 'higher' or 'lower', so leaderboards
    rank without guessing. ``default`` metrics run when the user names none.
    """

    name: str
    description: str
    modalities: tuple[str, ...]
    compute: Callable[[EvalContext], MetricResult]
    better: Mapping[str, str]
    default: bool = True
    conditional_only: bool = False
    """True for scores of class-conditional models (e.g. class accuracy); they skip other runs."""
    needs: tuple[str, ...] = ()
    """Keys of DataInfo.extras the metric needs (e.g. 'vocab' for text scores)."""
    needs_likelihood: bool = False
    """True for scores of a model's density (bits per dimension): they skip implicit models (GANs)."""

    def applies_to(self, info: DataInfo, conditional: bool = False, likelihood: str | None = None) -> bool:
        """Whether it can score a model of this data; ``conditional``: the model takes class labels;
        ``likelihood``: the kind of density the model has (Generator.likelihood)."""
        return (
            info.modality in self.modalities
            and (conditional or not self.conditional_only)
            and (likelihood is not None or not self.needs_likelihood)
            and all(key in info.extras for key in self.needs)
        )


@dataclass
class EvalReport:
    """Scores of one evaluation and the protocol of each metric."""

    step: int
    scores: dict[str, float]
    protocols: dict[str, dict[str, Any]]
    better: dict[str, str]
    seconds: float
    weights: str = "raw"
    """Which generator weights were scored: "raw" or "ema" (a run setting shown beside the scores)."""
    temperature: float | None = None
    """The softmax temperature samples were drawn at, for a generator that samples tokens (a run setting, like
    ``weights``: scores at different temperatures share their protocols and rank in one table); None for others."""

    def to_json(self) -> dict[str, Any]:
        out = {
            "step": self.step,
            "eval": self.scores,
            "protocol": self.protocols,
            "better": self.better,
            "eval_seconds": round(self.seconds, 3),
            "weights": self.weights,
        }
        if self.temperature is not None:
            out["temperature"] = self.temperature
        return out


def choose_metrics(registry, info: DataInfo, names: Iterable[str] | None, conditional: bool = False,
                   likelihood: str | None = None) -> list[MetricSpec]:
    """The named metrics (checked against the data and model), or every default metric that applies.

    ``conditional``: the model generates on request for a class (its generator has classes);
    ``likelihood``: the kind of density the model has (``Generator.likelihood``; None for a GAN).
    """
    if names:
        chosen = [registry.metric(n) for n in names]
        for spec in chosen:
            if info.modality not in spec.modalities:
                raise ConfigError(f"metric {spec.name!r} scores {'/'.join(spec.modalities)} models; this run is {info.modality}")
            missing = [key for key in spec.needs if key not in info.extras]
            if missing:
                raise ConfigError(f"metric {spec.name!r} needs data with {', '.join(missing)}; this run's data has none")
            if spec.needs_likelihood and likelihood is None:
                raise ConfigError(f"metric {spec.name!r} scores a model's likelihood; this run's model is implicit "
                                  "(a GAN has no density), so it has none")
            if not spec.applies_to(info, conditional, likelihood):
                raise ConfigError(f"metric {spec.name!r} scores class-conditional models; this run's model takes no labels")
        return chosen
    return [entry.value for entry in registry.metrics
            if entry.value.default and entry.value.applies_to(info, conditional, likelihood)]


def evaluate(ctx: EvalContext, metrics: list[MetricSpec], step: int = 0) -> EvalReport:
    """Run each metric once; the generator is put in eval mode for the duration. A temperature the generator
    cannot sample at is refused before any metric runs."""
    ctx.sample_keywords()
    started = time.perf_counter()
    was_training = ctx.generator.training
    ctx.generator.eval()
    scores: dict[str, float] = {}
    protocols: dict[str, dict[str, Any]] = {}
    better: dict[str, str] = {}
    try:
        with torch.no_grad():
            for spec in metrics:
                result = spec.compute(ctx)
                scores.update({k: float(v) for k, v in result.scores.items()})
                protocols[spec.name] = dict(result.protocol)
                directions = {**spec.better, **result.better}
                better.update({k: directions[k] for k in result.scores if k in directions})
    finally:
        ctx.generator.train(was_training)
    temperature = ctx.temperature if ctx.generator.supports_temperature else None
    return EvalReport(step, scores, protocols, better, time.perf_counter() - started, temperature=temperature)


def _per_class_of(key: str, scores: Mapping[str, float]) -> str | None:
    """'class_acc' for 'class_acc_3' when 'class_acc' is a score too (a per-class breakdown), else None."""
    base, _, index = key.rpartition("_")
    return base if index.isdigit() and base in scores else None


def format_scores(scores: Mapping[str, float]) -> str:
    """'fid 12.3, isc 8.91, class_acc 0.97 [by class 0.99 0.95 ...], ...' for terminals."""
    by_class: dict[str, list[str]] = {}
    for key, value in scores.items():
        base = _per_class_of(key, scores)
        if base is not None:
            by_class.setdefault(base, []).append(f"{value:.3g}")
    parts = []
    for key, value in scores.items():
        if _per_class_of(key, scores) is None:
            detail = f" [by class {' '.join(by_class[key])}]" if key in by_class else ""
            parts.append(f"{key} {value:.4g}{detail}")
    return ", ".join(parts)


def describe_protocols(protocols: Mapping[str, Mapping[str, Any]]) -> str:
    """One line per distinct protocol, e.g. 'ganzoo-digits (sha256 1a2b3c4d), 10000 generated vs 1437 real digits:train'."""
    lines = []
    for protocol in {json.dumps(p, sort_keys=True): p for p in protocols.values()}.values():
        parts = []
        if "feature_extractor" in protocol:
            parts.append(f"{protocol['feature_extractor']} (sha256 {str(protocol.get('extractor_weights_sha256', ''))[:8]})")
        if "num_generated" in protocol:
            real = f" vs {protocol['num_real']} real {protocol.get('reference', '')}" if protocol.get("num_real") else ""
            parts.append(f"{protocol['num_generated']} generated{real}".rstrip())
        parts += [f"{k} {v}" for k, v in protocol.items()
                  if k not in {"feature_extractor", "extractor_weights_sha256", "num_generated", "num_real", "reference"}]
        lines.append(", ".join(parts))
    return "; ".join(lines)

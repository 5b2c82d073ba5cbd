"""`ganzoo check`: a dry run of a variant that says, in plain words, what breaks its contract.

It builds G and D for the configured dataset's sample shape, checks what they declare
(``G.latent_dim``, ``G.output_shape``, one logit per sample from D), runs one step of each
training phase on random data of the right shape, and saves and reloads a checkpoint. Nothing
is written outside a temporary directory; the real dataset is read only to learn its shape.
"""

from __future__ import annotations

import json
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.configure import resolve_run
from ganzoo.data.base import PIXEL_MODALITIES, DataInfo, LoadedData, TensorData
from ganzoo.data.loading import load_data
from ganzoo.device import resolve_device
from ganzoo.driver.state import TrainState
from ganzoo.nets.base import Discriminator, Generator
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry
from ganzoo.spec import ModelSpec
from ganzoo.storage.checkpoint import read_checkpoint, save_checkpoint
from ganzoo.trainer.setup import build_models, prepare_state

CHECK_BATCH = 16
"""Largest batch a check uses: enough for batch statistics, small enough to take seconds."""


class CheckFailed(Exception):
    """One check's failure, in words a plugin author can act on."""


@dataclass
class Finding:
    """The outcome of one check: ok, fail or skipped (an earlier check it needs failed)."""

    check: str
    status: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "message": self.message}


@dataclass
class CheckReport:
    """Everything ``ganzoo check`` found about one variant."""

    model: str
    source: str
    dataset: str
    data_shape: list[int]
    batch_size: int
    device: str
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status == "ok" for f in self.findings)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "source": self.source,
            "dataset": self.dataset,
            "data_shape": self.data_shape,
            "batch_size": self.batch_size,
            "device": self.device,
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
            "warnings": self.warnings,
        }


def _where(exc: BaseException) -> str:
    """' (at file.py:12)' for the deepest frame outside torch, where the plugin's bug most likely is."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/torch/" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    return f" (at {Path(frame.filename).name}:{frame.lineno})"


def _explain(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}{_where(exc)}"


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


class RandomData(TensorData):
    """Random samples shaped like a real dataset, keeping its extras (oracles, vocabularies)."""

    def __init__(self, real: LoadedData, count: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        info = real.info
        example = next(iter(real.iterate(2))).x  # only its dtype and value range matter
        if example.is_floating_point() and info.modality in PIXEL_MODALITIES:
            x = torch.rand((count, *info.shape), generator=gen) * 2 - 1  # images are served in [-1, 1]
        elif example.is_floating_point():
            x = torch.randn((count, *info.shape), generator=gen)
        else:
            vocab = int(info.extras.get("vocab_size", int(example.max()) + 1))
            x = torch.randint(vocab, (count, *info.shape), generator=gen, dtype=example.dtype)
        labels = torch.randint(info.num_classes, (count,), generator=gen) if info.num_classes > 0 else None
        condition = None
        if "condition_shape" in info.extras:  # translation: random source images too
            condition = torch.rand((count, *info.extras["condition_shape"]), generator=gen) * 2 - 1
        super().__init__(x, labels, info, condition)
        self.real = real

    def artifacts(self) -> dict[str, Tensor]:
        return self.real.artifacts()

    def describe(self) -> dict[str, Any]:
        return self.real.describe()


class Checker:
    """Runs the checks in order, each one only when those it depends on passed."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report

    def run(self, name: str, check: Callable[[], str], needs: tuple[str, ...] = ()) -> bool:
        done = {f.check: f.status for f in self.report.findings}
        missing = [n for n in needs if done.get(n) != "ok"]
        if missing:
            self.report.findings.append(Finding(name, "skipped", f"needs {', '.join(missing)} to pass first"))
            return False
        try:
            message = check()
        except CheckFailed as exc:
            self.report.findings.append(Finding(name, "fail", str(exc)))
            return False
        except Exception as exc:  # a plugin's bug, reported rather than raised
            self.report.findings.append(Finding(name, "fail", _explain(exc)))
            return False
        self.report.findings.append(Finding(name, "ok", message))
        return True


def _parameters(module: nn.Module) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.3g}M"


def check_generator(spec: ModelSpec, G: Generator, info: DataInfo, batch: int, warnings: list[str]) -> str:
    """G declares a latent size and the data's sample shape, and G.sample gives that shape."""
    # autoregressive text samples without a latent vector; a translator may take only its source (pix2pix)
    no_latent_ok = type(G).sample is not Generator.sample or G.image_conditioned
    if not isinstance(G.latent_dim, int) or G.latent_dim < 0 or (G.latent_dim == 0 and not no_latent_ok):
        raise CheckFailed(f"G.latent_dim is {G.latent_dim!r}; pass the latent size to Generator.__init__ "
                          "(0 only for generators that override sample() or translate images)")
    if tuple(G.output_shape) != tuple(info.shape):
        raise CheckFailed(
            f"G.output_shape is {tuple(G.output_shape)} but the data's samples are {tuple(info.shape)}; "
            "build G for ctx.data.shape"
        )
    if spec.conditional and G.num_classes != info.num_classes:
        raise CheckFailed(f"the model is conditional but G.num_classes is {G.num_classes}, "
                          f"not the data's {info.num_classes} classes")
    if not spec.conditional and G.num_classes > 0:
        warnings.append(f"G declares {G.num_classes} classes but the ModelSpec is not conditional=True")
    if G.image_conditioned and tuple(G.condition_shape) != tuple(info.extras.get("condition_shape", ())):
        raise CheckFailed(f"G.condition_shape is {G.condition_shape} but the data's sources are "
                          f"{info.extras.get('condition_shape')}; build G for ctx.data.extras['condition_shape']")
    sources = torch.rand(batch, *G.condition_shape) * 2 - 1 if G.image_conditioned else None
    with torch.no_grad():
        out = G.sample(batch, labels=sources)
    expected = (batch, *info.shape)
    if _shape(out) != expected:
        raise CheckFailed(f"G.sample({batch}) gave shape {_shape(out)}, expected {expected} (batch, *G.output_shape)")
    if out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise CheckFailed("G's samples hold NaN or infinite values")
    if info.modality in PIXEL_MODALITIES and out.is_floating_point():
        low, high = float(out.min()), float(out.max())
        if low < -1.001 or high > 1.001:
            warnings.append(f"G's images reach [{low:.3g}, {high:.3g}] but data images lie in [-1, 1]; end G with tanh")
    return (f"latent_dim {G.latent_dim}, output_shape {tuple(G.output_shape)} matches the data; "
            f"G.sample({batch}) gives {expected}; {_parameters(G)} parameters")


def check_discriminator(
    D: Discriminator, G: Generator, data: LoadedData, batch: int, device: torch.device, warnings: list[str]
) -> str:
    """D gives one raw logit per sample (or per patch), for real and for generated samples."""
    real = next(data.batches(batch, seed=0, device=device))
    with torch.no_grad():
        fake_labels = real.condition if G.image_conditioned else G.sample_labels(batch)
        fake = G.sample(batch, labels=fake_labels)
        for kind, x, labels in (("real", real.x, real.y), ("generated", fake, fake_labels)):
            logits = D(x, labels)
            if not isinstance(logits, Tensor):
                raise CheckFailed(f"D returned {type(logits).__name__} for {kind} samples, not a tensor of logits")
            if D.per_patch and (logits.dim() != 2 or logits.shape[0] != batch):
                raise CheckFailed(f"D gave shape {_shape(logits)} for {batch} {kind} samples; with per_patch it must "
                                  f"return one raw logit per patch, shape ({batch}, P)")
            if not D.per_patch and _shape(logits) != (batch,):
                raise CheckFailed(
                    f"D gave shape {_shape(logits)} for {batch} {kind} samples; it must return one raw logit per "
                    f"sample, shape ({batch},) (end forward with .view(len(x)))"
                )
            if not bool(torch.isfinite(logits.float()).all()):
                raise CheckFailed(f"D's logits for {kind} samples hold NaN or infinite values")
    last = [m for m in D.modules() if not list(m.children())]
    if last and isinstance(last[-1], nn.Sigmoid):
        warnings.append("D ends with a sigmoid; ganzoo's losses expect raw logits (drop the sigmoid)")
    shape = f"({batch},)" if logits.dim() == 1 else f"({batch}, {logits.shape[1]}) (one per patch)"
    return f"logits of shape {shape} for real and generated samples; {_parameters(D)} parameters"


def _snapshot(state: TrainState) -> dict[str, list[Tensor]]:
    return {name: [p.detach().clone() for p in m.parameters()] for name, m in state.modules().items()}


def check_step(state: TrainState, step: Callable[[TrainState], Mapping[str, Tensor]]) -> str:
    """One call of a phase's step function: it returns scalars to log and updates some parameters."""
    before = _snapshot(state)
    started = time.perf_counter()
    outputs = step(state)
    seconds = time.perf_counter() - started
    state.step += 1
    if not isinstance(outputs, Mapping):
        raise CheckFailed(f"the step returned {type(outputs).__name__}; return a dict of scalar tensors to log")
    for key, value in outputs.items():
        if not isinstance(value, Tensor) or value.numel() != 1:
            kind = f"shape {tuple(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
            raise CheckFailed(f"the step's output {key!r} is {kind}; log one number per key (e.g. loss.detach())")
        if not bool(torch.isfinite(value.detach().float()).all()):
            raise CheckFailed(f"the step's output {key!r} is not finite after one step on random data")
    updated = [name for name, module in state.modules().items()
               if any(not torch.equal(a, b.detach()) for a, b in zip(before[name], module.parameters(), strict=True))]
    if not updated and state.optimizers:  # a baseline with nothing to learn (identity) has no optimiser
        raise CheckFailed("the step changed no parameters; update them with state.optimize(loss, 'generator') "
                          "or state.optimize(loss, 'discriminator')")
    logged = ", ".join(sorted(outputs)) or "nothing"
    return f"updated {', '.join(updated)}; logs {logged}; {seconds:.2f} s"


def check_checkpoint(state: TrainState, spec: ModelSpec) -> str:
    """Models and optimisers survive a save to safetensors and a load back."""
    meta = {"model": spec.name, "config": state.config.to_json(), "data_info": state.data.info.to_json(), "step": state.step}
    try:
        json.dumps(meta)
    except TypeError as exc:
        raise CheckFailed(f"the configuration cannot be stored as JSON ({exc}); keep defaults to numbers, "
                          "strings, booleans and lists") from None
    with tempfile.TemporaryDirectory(prefix="ganzoo-check-") as tmp:
        path = Path(tmp) / "check.safetensors"
        save_checkpoint(path, modules=state.modules(), optimizers=state.optimizers, meta=meta)
        checkpoint = read_checkpoint(path)
        for name, module in state.modules().items():
            module.load_state_dict(checkpoint.module_state(name))
        size = path.stat().st_size
    return f"saved and loaded back {', '.join(state.modules())} ({size / 1e6:.2g} MB)"


def check(model: str, *, registry: Registry | None = None, **options: Any) -> CheckReport:
    """Dry-run ``model``: contracts of G and D, one step per phase on random data, a checkpoint round trip.

    ``options`` are the same as :func:`ganzoo.train`'s (``dataset``, ``device``, hyper-parameters).
    Unknown names and invalid options raise :class:`~ganzoo.errors.GanzooError` as in training.
    """
    registry = registry if registry is not None else get_registry()
    spec, config = resolve_run(registry, model, options)
    batch = min(int(config["batch_size"]), CHECK_BATCH)
    config["batch_size"] = batch
    source = str(registry.models.get(spec.name).source)
    device = resolve_device(config["device"])
    report = CheckReport(spec.name, source, config["dataset"], [], batch, str(device))
    checker = Checker(report)
    found: dict[str, Any] = {}

    def data() -> str:
        real = load_data(registry, config)
        found["data"] = RandomData(real, 2 * batch, int(config["seed"]))
        report.data_shape = list(real.info.shape)
        return f"{config['dataset']}: samples of shape {tuple(real.info.shape)}; checks use random data of that shape"

    def build() -> str:
        found["G"], found["D"] = build_models(spec, found["data"].info, config)
        players = f"D is {type(found['D']).__name__}" if found["D"] is not None else "no discriminator"
        return f"G is {type(found['G']).__name__}, {players}"

    def discriminator() -> str:
        if found["D"] is None:
            return "the model has none (its own step trains G alone)"
        return check_discriminator(found["D"], found["G"], found["data"], batch, torch.device("cpu"), report.warnings)

    def prepare() -> str:
        found["state"] = state = prepare_state(registry, spec, config, data=found["data"])
        phases = spec.schedule(config)
        if not phases or sum(p.steps for p in phases) < 1:
            raise CheckFailed("the schedule has no training steps; phases must hold at least one step")
        names = ", ".join(f"{p.name} ({p.steps} steps)" for p in phases)
        return f"optimisers {', '.join(state.optimizers)}; phases {names}"

    checker.run("data", data)
    checker.run("build", build, needs=("data",))
    checker.run("generator", lambda: check_generator(spec, found["G"], found["data"].info, batch, report.warnings),
                needs=("build",))
    checker.run("discriminator", discriminator, needs=("generator",))
    if checker.run("setup", prepare, needs=("discriminator",)):
        for phase in [p for p in spec.schedule(config) if p.steps > 0]:
            checker.run(f"step {phase.name}", lambda phase=phase: check_step(found["state"], phase.step))
    else:
        checker.run("step", lambda: "", needs=("setup",))
    steps = [f.check for f in report.findings if f.check.startswith("step")]
    checker.run("checkpoint", lambda: check_checkpoint(found["state"], spec), needs=tuple(steps))
    return report

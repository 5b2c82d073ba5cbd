"""The training loop shared by every variant.

It walks the variant's phases, calls the phase's step function, and does the bookkeeping:
progress bar, metrics.jsonl, fixed-noise sample grids, checkpoints, the divergence guard and
a clean stop on SIGINT / SIGTERM. The hot path never waits on the device: step outputs stay
tensors until a log line needs them.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor
from tqdm.auto import tqdm

from ganzoo.config import RunConfig
from ganzoo.configure import resolve_run
from ganzoo.driver import distributed
from ganzoo.driver.distributed import World
from ganzoo.driver.state import TrainingExtension, TrainState
from ganzoo.errors import Aborted, CheckpointError, ConfigError, GanzooError
from ganzoo.registry import Registry
from ganzoo.render import first_pairs, grid_conditions, save_samples, suffix_for, translation_rows
from ganzoo.spec import ModelSpec, Phase
from ganzoo.storage.checkpoint import read_checkpoint, save_checkpoint
from ganzoo.storage.rundir import RunDir, default_run_path
from ganzoo.trainer.setup import CompileError, extension_group, prepare_state, restore_state, scheduler_states
from ganzoo.version import __version__

SAMPLE_SEED_OFFSET = 7919
log = logging.getLogger(__name__)


class Diverged(GanzooError):
    """Training produced non-finite values; the last good checkpoint is kept."""

    exit_code = 3


class Interrupted(GanzooError):
    """Training stopped by a signal after saving a checkpoint."""

    prefix = ""  # not an error: the run stopped where the user asked it to

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class Evaluation(Protocol):
    """Scoring during training, handed to the trainer (which knows no metrics)."""

    def due(self, step: int, last: bool) -> bool:
        """Whether to score after this step."""

    def __call__(self, state: TrainState, run: RunDir, checkpoint: Path) -> dict[str, Any]:
        """Score the generator now; return the JSON record to log (scores with their protocol)."""


EvaluationFactory = Callable[[RunConfig, RunDir], "Evaluation | None"]
"""Builds the evaluation of a run from its config (None: the run is not scored while it trains)."""


@dataclass
class RunResult:
    """What a finished (or resumed-and-finished) run left behind."""

    path: Path
    step: int
    checkpoint: Path
    last_log: dict[str, Any] = field(default_factory=dict)
    last_eval: dict[str, Any] | None = None
    """The final evaluation record (scores, protocol) when the run was trained with eval_every."""


class _StopFlag:
    """SIGINT / SIGTERM set a flag; the loop saves and stops between two steps."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # a second Ctrl-C: stop at once
            raise Aborted(signum)
        self.signum = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _Window:
    """Step outputs since the last log line, kept as device tensors (no host sync per step)."""

    def __init__(self) -> None:
        self.values: dict[str, list[Tensor]] = {}
        self.first_step = 0

    def add(self, step: int, outputs: Mapping[str, Tensor]) -> None:
        if not self.values:
            self.first_step = step
        for key, value in outputs.items():
            self.values.setdefault(key, []).append(value.detach().float().reshape(()))

    def _stacked(self) -> dict[str, Tensor]:
        return {key: torch.stack(values).cpu() for key, values in self.values.items()}

    def _first_non_finite(self, stacked: Mapping[str, Tensor]) -> tuple[int | None, str | None]:
        bad_step, bad_key = None, None
        for key, values in stacked.items():
            finite = torch.isfinite(values)
            if not bool(finite.all()):
                step = self.first_step + int((~finite).nonzero()[0, 0])
                if bad_step is None or step < bad_step:
                    bad_step, bad_key = step, key
        return bad_step, bad_key

    def first_non_finite(self) -> tuple[int | None, str | None]:
        """The first step and key with a non-finite value, without emptying the window."""
        return self._first_non_finite(self._stacked())

    def flush(self) -> tuple[dict[str, float], int | None, str | None]:
        """Means over the window, plus the first step and key with a non-finite value, if any."""
        stacked = self._stacked()
        bad_step, bad_key = self._first_non_finite(stacked)
        means = {key: float(values.mean()) for key, values in stacked.items()}
        self.values = {}
        return means, bad_step, bad_key


class Trainer:
    """Runs one TrainState through its phases, writing into one run directory."""

    def __init__(self, spec: ModelSpec, state: TrainState, run: RunDir, progress: bool | None = None,
                 evaluation: Evaluation | None = None) -> None:
        self.spec = spec
        self.state = state
        self.run = run
        self.world = World(state.rank, state.world_size)
        self.progress = progress if self.world.is_main else False
        self.config = state.config
        self.phases: list[Phase] = spec.schedule(state.config)
        self.total_steps = sum(p.steps for p in self.phases)
        self.last_log: dict[str, Any] = {}
        self.last_eval: dict[str, Any] | None = None
        self.last_checkpoint: Path | None = None
        self.checked_step = state.step
        """The last step whose weights were checked finite (the start, or the last checkpoint)."""
        self.started = time.perf_counter()
        self.compile_errors: tuple[type[BaseException], ...] = ()
        if self.config.get("compile"):
            from torch._dynamo.exc import TorchDynamoException

            self.compile_errors = (TorchDynamoException,)
        if self.world.distributed:  # every process starts from rank 0's weights
            distributed.broadcast_state(state.modules().values())
        self.evaluation = evaluation

    # ---- bookkeeping -------------------------------------------------------------------
    def checkpoint_meta(self) -> dict[str, Any]:
        state = self.state
        meta = {
            "model": self.spec.name,
            "config": self.config.to_json(),
            "data_info": state.data.info.to_json(),
            "step": state.step,
            "batches_drawn": state.batches_drawn,
            "ganzoo_version": __version__,
            "torch_version": torch.__version__,
        }
        if state.scaler is not None:
            meta["scaler"] = state.scaler.state_dict()
        if state.schedulers:
            meta["schedulers"] = scheduler_states(state)
        return meta

    def save_checkpoint(self) -> Path:
        path = self.run.checkpoint_path(self.state.step)
        if path == self.last_checkpoint:
            return path  # saved already at this step
        if not self.world.is_main:  # rank 0 writes it
            self.last_checkpoint = path
            self.checked_step = self.state.step
            return path
        try:
            save_checkpoint(path, modules=self.state.modules(), optimizers=self.state.optimizers,
                            meta=self.checkpoint_meta(),
                            state_tensors={extension_group(e): e.state_dict() for e in self.state.extensions})
        except OSError as exc:
            kept = f"; {self.last_checkpoint} is intact" if self.last_checkpoint else ""
            raise CheckpointError(f"could not write checkpoint {path}: {exc.strerror or exc}{kept}") from exc
        self.last_checkpoint = path
        self.checked_step = self.state.step
        self.run.prune_checkpoints(int(self.config["keep_checkpoints"]), protect=(path,))
        return path

    def save_samples(self) -> Path:
        """A grid from fixed noise (same latents every time, so grids are comparable over training)."""
        path = self.run.sample_path(self.state.step, suffix_for(self.state.data.info))
        if not self.world.is_main:  # rank 0 writes it
            return path
        G = self.state.sampling_generator()
        n = int(self.config["num_samples"])
        labels, nrow = grid_conditions(G, n, self.state.data, self.state.device)
        if labels is not None:
            n = len(labels)
        noise = torch.Generator().manual_seed(int(self.config["seed"]) + SAMPLE_SEED_OFFSET)
        was_training = G.training
        G.eval()
        with torch.no_grad(), self.state.autocast():
            samples = G.sample(n, labels=labels, generator=noise)
        G.train(was_training)
        if G.image_conditioned:  # rows of source | translated | target
            targets = first_pairs(self.state.data, n, self.state.device)[1]
            samples, nrow = translation_rows(labels.float().cpu(), samples.float().cpu(),
                                             targets.float().cpu() if targets is not None else None)
        return save_samples(samples, path, self.state.data.info, nrow)

    def _kept(self) -> str:
        if self.last_checkpoint is None:
            return "; no checkpoint had been saved yet"
        return (f"; the last good checkpoint {self.last_checkpoint} is kept (continue from it with "
                f"--resume {self.run.path} and, say, lower learning rates)")

    def log(self, window: _Window, phase: Phase, bar: tqdm) -> None:
        means, bad_step, bad_key = window.flush()
        means = distributed.mean_across(means, self.world)  # the same values, hence decisions, everywhere
        if bad_step is not None:
            raise Diverged(f"training diverged at step {bad_step}: {bad_key} is not finite{self._kept()}")
        bad_keys = [k for k, v in means.items() if not math.isfinite(v)]
        if bad_keys:
            raise Diverged(f"training diverged in another process: {bad_keys[0]} is not finite{self._kept()}")
        elapsed = time.perf_counter() - self.started
        record = {"step": self.state.step, "phase": phase.name, "time_s": round(elapsed, 3), **means}
        if self.world.is_main:
            self.run.append_metrics(record)
        self.last_log = record
        bar.set_postfix({k: f"{v:.3g}" for k, v in means.items()}, refresh=False)

    def evaluate(self, phase: Phase, window: _Window) -> None:
        """Score the generator now, log the scores with their protocol, keep the best checkpoint."""
        if self.last_checkpoint is None or self.last_checkpoint != self.run.checkpoint_path(self.state.step):
            self.check_finite(window)
            self.save_checkpoint()
        record = self.evaluation(self.state, self.run, self.last_checkpoint)
        record = {**record, "phase": phase.name, "time_s": round(time.perf_counter() - self.started, 3)}
        self.run.append_metrics(record)
        self.last_eval = record

    def check_finite(self, window: _Window) -> None:
        """Before a checkpoint: stop on any non-finite logged value or weight, so no bad state is saved."""
        bad_step, bad_key = window.first_non_finite()
        anywhere = distributed.any_process(bad_step is not None, self.world)  # every process decides alike
        if bad_step is not None:
            raise Diverged(f"training diverged at step {bad_step}: {bad_key} is not finite{self._kept()}")
        if anywhere:
            raise Diverged(f"training diverged in another process before step {self.state.step}{self._kept()}")
        for name, module in self.state.modules().items():
            tensors = [*module.named_parameters(), *module.named_buffers()]
            for tname, t in tensors:
                if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                    raise Diverged(
                        f"training diverged between step {self.checked_step} and step {self.state.step}: "
                        f"{name}.{tname} is not finite{self._kept()}"
                    )

    # ---- the loop -----------------------------------------------------------------------
    def advance(self, phase: Phase, window: _Window) -> None:
        """The hot path of one step: the phase's step function, the counter, the log window.

        Nothing here waits on the device; the benchmark in benchmarks/perf times exactly this.
        """
        if self.compile_errors:
            try:
                outputs = phase.step(self.state)
            except self.compile_errors as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise CompileError(f"--compile failed ({first[:200]}); train without --compile") from exc
        else:
            outputs = phase.step(self.state)
        for scheduler in self.state.schedulers.values():
            scheduler.step()
        for extension in self.state.extensions:
            outputs = {**outputs, **extension.logs(self.state)}
        self.state.step += 1
        window.add(self.state.step, outputs)
        if self.world.distributed:  # batch-norm statistics follow rank 0, as DDP's broadcast_buffers
            distributed.broadcast_state(self.state.modules().values(), buffers_only=True)

    def run_phase(self, phase: Phase, begin: int, stop: _StopFlag) -> None:
        state, cfg = self.state, self.config
        end = begin + phase.steps
        log_every = int(cfg["log_every"])
        sample_every = int(cfg["sample_every"])
        checkpoint_every = int(cfg["checkpoint_every"])
        window = _Window()
        disable = None if self.progress is None else not self.progress
        with tqdm(total=phase.steps, initial=state.step - begin, desc=phase.name, unit="step",
                  disable=disable, dynamic_ncols=True) as bar:
            while state.step < end:
                self.advance(phase, window)
                bar.update(1)
                last = state.step == end
                if state.step % log_every == 0 or last:
                    self.log(window, phase, bar)
                if sample_every and state.step % sample_every == 0 and not last:
                    self.save_samples()
                if (checkpoint_every and state.step % checkpoint_every == 0) or last:
                    self.check_finite(window)
                    self.save_checkpoint()
                if self.evaluation and self.evaluation.due(state.step, state.step == self.total_steps):
                    self.evaluate(phase, window)
                if distributed.any_process(stop.signum is not None, self.world) and not last:
                    signum = stop.signum or signal.SIGTERM  # a process the signal missed stops with the others
                    if window.values:
                        self.log(window, phase, bar)
                    self.check_finite(window)
                    path = self.save_checkpoint()
                    name = signal.Signals(signum).name
                    raise Interrupted(signum, f"stopped by {name} at step {state.step}; checkpoint saved to "
                                                   f"{path}; continue with: ganzoo train --resume {self.run.path}")

    def fit(self) -> RunResult:
        with _StopFlag() as stop:
            begin = 0
            for phase in self.phases:
                if self.state.step < begin + phase.steps:
                    self.run_phase(phase, begin, stop)
                begin += phase.steps
        self.save_samples()
        checkpoint = self.last_checkpoint or self.run.latest_checkpoint()
        return RunResult(self.run.path, self.state.step, checkpoint, self.last_log, self.last_eval)


def train(
    model: str | None = None,
    *,
    registry: Registry,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
    evaluation: EvaluationFactory | None = None,
    extensions: Sequence[TrainingExtension] = (),
    **options: Any,
) -> RunResult:
    """Train a registered variant (or continue a run with ``resume=RUN_DIR``).

    ``options`` are keys of the run's config (``steps``, ``batch_size``, ``model.g_width``,
    ``data.dataset``, ...); see ``ganzoo info MODEL``. ``evaluation`` builds the scoring the
    trainer calls during training; ``extensions`` are applied by the shared driver.
    """
    world = World.from_env()  # several processes under torchrun: only rank 0 touches the run directory
    try:
        if resume is not None:
            if overwrite:
                raise ConfigError("--overwrite replaces a run and --resume continues one; pass only one of them")
            return _resume(registry, model, Path(resume), out, progress, options, world, evaluation, extensions)
        if model is None:
            raise ConfigError("name a model to train (ganzoo list models)")
        spec, config = resolve_run(registry, model, options)
        path = Path(out) if out is not None else default_run_path(spec.name, config["dataset"])
        if world.is_main:
            RunDir(path).check_new(overwrite)  # refuse before any slow work, and before touching anything
        state = prepare_state(registry, spec, config, world=world, extensions=extensions)
        with _claimed(RunDir(path), world):
            run = RunDir.create(path, overwrite=overwrite) if world.is_main else RunDir(path)
            artifacts = state.data.artifacts()
            if artifacts and world.is_main:
                run.write_data_artifacts(artifacts)
            _write_config(run, spec, state)
            return Trainer(spec, state, run, progress, _evaluation(evaluation, config, run)).fit()
    finally:
        distributed.leave(world)


def _evaluation(factory: EvaluationFactory | None, config: RunConfig, run: RunDir) -> Evaluation | None:
    return factory(config, run) if factory is not None else None


def _claimed(run: RunDir, world: World) -> AbstractContextManager:
    """The run's lock, held by rank 0 (the only writer)."""
    return run.claimed() if world.is_main else nullcontext()


def _write_config(run: RunDir, spec: ModelSpec, state: TrainState) -> None:
    if state.rank == 0:
        run.write_config(_run_config(spec, state))


def _run_config(spec: ModelSpec, state: TrainState) -> dict[str, Any]:
    return {
        "model": spec.name,
        "config": state.config.to_json(),
        "data_info": state.data.info.to_json(),
        "ganzoo_version": __version__,
        "torch_version": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _open_for_resume(path: Path, out: Any) -> RunDir:
    if out is not None and Path(out).resolve() != path.resolve():
        raise ConfigError("--resume continues the run in its own directory; drop --out")
    if path.is_file():
        hint = f" (this file's run is {path.parent.parent})" if RunDir(path.parent.parent).is_run() else ""
        raise ConfigError(f"--resume takes a run directory, not a file: {path}{hint}")
    if not path.exists():
        raise CheckpointError(f"--resume {path}: no such run directory")
    run = RunDir(path)
    if not run.is_run() and not run.has_user_files():
        raise CheckpointError(
            f"--resume {path}: the run stopped before it wrote {run.config_path.name}; start it again with "
            f"ganzoo train MODEL --out {path}"
        )
    return RunDir.open(path)


def _resume(
    registry: Registry, model: str | None, path: Path, out: Any, progress: bool | None, options: Mapping[str, Any],
    world: World, evaluation: EvaluationFactory | None, extensions: Sequence[TrainingExtension],
) -> RunResult:
    run = _open_for_resume(path, out)
    stored = run.read_config()
    stored_model = stored["model"]
    if model is not None and model != stored_model:
        raise ConfigError(f"{path} is a run of {stored_model!r}, not {model!r}")
    with _claimed(run, world):
        found = run.checkpoints()
        if not found:
            return _restart(registry, run, stored, progress, options, world, evaluation, extensions)
        checkpoint = read_checkpoint(found[-1][1])
        if checkpoint.meta.get("model") != stored_model:
            raise CheckpointError(
                f"{checkpoint.path} is a checkpoint of {checkpoint.meta.get('model')!r}, but {path} is a run of "
                f"{stored_model!r}"
            )
        spec, config = resolve_run(registry, stored_model, options, stored=checkpoint.config)
        state = prepare_state(registry, spec, config, world=world, extensions=extensions)
        restore_state(state, checkpoint)
        if world.is_main:
            run.truncate_metrics(state.step)
        _write_config(run, spec, state)
        trainer = Trainer(spec, state, run, progress, _evaluation(evaluation, config, run))
        trainer.last_checkpoint = checkpoint.path
        if state.step >= trainer.total_steps:
            return RunResult(run.path, state.step, checkpoint.path, {})
        return trainer.fit()


def _restart(
    registry: Registry, run: RunDir, stored: Mapping[str, Any], progress: bool | None, options: Mapping[str, Any],
    world: World, evaluation: EvaluationFactory | None, extensions: Sequence[TrainingExtension],
) -> RunResult:
    """A run stopped before its first checkpoint: begin it again, same configuration, same directory."""
    spec, config = resolve_run(registry, stored["model"], options, stored=stored["config"])
    state = prepare_state(registry, spec, config, world=world, extensions=extensions)
    if world.is_main:
        log.warning("%s has no checkpoint yet (it stopped before the first one); starting it again from step 0",
                    run.path)
        run.restart()
    _write_config(run, spec, state)
    return Trainer(spec, state, run, progress, _evaluation(evaluation, config, run)).fit()

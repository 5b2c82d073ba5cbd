"""The run directory: the unit every command reads and writes.

    RUN/config.json            resolved configuration, data facts, versions
    RUN/metrics.jsonl          one JSON object per logged step (and per evaluation)
    RUN/checkpoints/step-00000040.safetensors
    RUN/samples/step-00000040.png
    RUN/data.safetensors       tensors the data keeps with the run (e.g. a synthetic oracle), if any
    RUN/.lock                  held (flock) by the one process writing the run

A process killed mid-write can leave ``.<name>.<random>.tmp`` files behind; they are never
read and are removed when the run is next opened for writing.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import Tensor

from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.storage.checkpoint import TEMP_SUFFIX, atomic_write_bytes, atomic_write_text

try:  # POSIX; elsewhere runs are not protected against two writers
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

CONFIG = "config.json"
METRICS = "metrics.jsonl"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
DATA_ARTIFACTS = "data.safetensors"
LOCK = ".lock"
STEP_FILE = re.compile(r"^step-(\d+)\.safetensors$")
RUN_FILES = (CONFIG, METRICS, CHECKPOINTS, SAMPLES, DATA_ARTIFACTS)
log = logging.getLogger(__name__)


def is_stray_temp(path: Path) -> bool:
    """A temporary file an interrupted atomic write left behind."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX) and path.is_file()


def default_run_path(model: str, dataset: str, base: Path = Path("runs")) -> Path:
    """runs/<model>-<dataset>-<timestamp>/ (with a suffix if that exists already)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / f"{model}-{dataset}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = base / f"{model}-{dataset}-{stamp}-{n}"
    return path


class RunDir:
    """Paths and files of one run."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def samples_dir(self) -> Path:
        return self.path / SAMPLES

    @property
    def data_artifacts_path(self) -> Path:
        return self.path / DATA_ARTIFACTS

    def is_run(self) -> bool:
        return self.config_path.is_file()

    def _user_entries(self) -> list[Path]:
        """What the directory holds besides the lock and stray temporary files."""
        return [p for p in self.path.iterdir() if p.name != LOCK and not is_stray_temp(p)]

    def has_user_files(self) -> bool:
        """True when the directory exists and holds more than a lock and stray temporary files."""
        return self.path.is_dir() and bool(self._user_entries())

    def check_new(self, overwrite: bool = False) -> None:
        """Refuse (touching nothing) a path that is a file, a foreign directory, or a run without ``overwrite``."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"--out {self.path} is a file, not a directory")
        if self.has_user_files():
            if not self.is_run():
                raise ConfigError(f"--out {self.path} is not empty and holds no ganzoo run; choose another directory")
            if not overwrite:
                raise ConfigError(
                    f"--out {self.path} already holds a run; pass --resume {self.path} to continue it "
                    "or --overwrite to replace it"
                )

    @classmethod
    def create(cls, path: Path, overwrite: bool = False) -> RunDir:
        """Make a fresh run directory; refuse to clobber another run unless ``overwrite``.

        Call it while holding :meth:`claimed` when another process might use the same path.
        """
        run = cls(path)
        run.check_new(overwrite)
        if run.path.is_dir():
            run.clear()
        run.path.mkdir(parents=True, exist_ok=True)
        return run

    def clear(self) -> None:
        """Delete the run's own files (config, log, checkpoints, samples)."""
        for name in RUN_FILES:
            target = self.path / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)

    @contextmanager
    def claimed(self) -> Iterator[RunDir]:
        """Hold the run's lock while writing it: one writer per run, and leftovers of a killed one removed."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"{self.path} is a file, not a run directory")
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise ConfigError(
                        f"{self.path} is in use by another ganzoo process; wait for it to finish or stop it first"
                    ) from None
            self.remove_stray_temps()
            yield self
        finally:
            os.close(fd)  # also releases the lock

    def remove_stray_temps(self) -> int:
        """Delete temporary files that interrupted writes left behind; return how many."""
        removed = 0
        for folder in (self.path, self.checkpoint_dir, self.samples_dir):
            if folder.is_dir():
                for path in folder.iterdir():
                    if is_stray_temp(path):
                        path.unlink(missing_ok=True)
                        removed += 1
        if removed:
            log.info("removed %d unfinished temporary file(s) from %s", removed, self.path)
        return removed

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory (error when it is not one)."""
        run = cls(path)
        if not run.is_run():
            raise CheckpointError(f"{run.path} is not a ganzoo run directory (no {CONFIG})")
        return run

    def read_config(self) -> dict[str, Any]:
        """config.json, checked to name a model and hold a configuration."""
        try:
            stored = json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{self.config_path}: unreadable run config: {exc}") from None
        if not isinstance(stored, dict) or not isinstance(stored.get("model"), str) or not isinstance(
            stored.get("config"), dict
        ):
            raise CheckpointError(f"{self.config_path}: not a ganzoo run config (no model or config in it)")
        return stored

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_text(self.config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def write_data_artifacts(self, tensors: dict[str, Tensor]) -> None:
        """Keep the data's artifacts (see LoadedData.artifacts) with the run, atomically."""
        plain = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
        atomic_write_bytes(self.data_artifacts_path, safetensors_bytes(plain, metadata={"format": "ganzoo-data"}))

    def read_data_artifacts(self) -> dict[str, Tensor] | None:
        """The data artifacts kept with the run, or None when it has none."""
        if not self.data_artifacts_path.is_file():
            return None
        try:
            return load_file(str(self.data_artifacts_path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{self.data_artifacts_path}: unreadable data artifacts: {exc}") from exc

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint, oldest first."""
        if not self.checkpoint_dir.is_dir():
            return []
        found = []
        for path in self.checkpoint_dir.iterdir():
            match = STEP_FILE.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    def latest_checkpoint(self) -> Path:
        """The newest checkpoint, or a clear error when there is none."""
        found = self.checkpoints()
        if not found:
            raise CheckpointError(f"{self.path} has no checkpoints yet")
        return found[-1][1]

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoint_dir / f"step-{step:08d}.safetensors"

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        return self.samples_dir / f"step-{step:08d}{suffix}"

    def prune_checkpoints(self, keep: int, protect: tuple[Path, ...] = ()) -> None:
        """Delete all but the ``keep`` newest checkpoints (never those in ``protect``)."""
        for _, path in self.checkpoints()[:-keep]:
            if path not in protect:
                path.unlink(missing_ok=True)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON line to metrics.jsonl."""
        with self.metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    def read_metrics(self) -> Iterator[dict[str, Any]]:
        """Every record of metrics.jsonl (a torn last line from a crash is ignored)."""
        if not self.metrics_path.is_file():
            return
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                yield json.loads(line)
            except ValueError:
                continue

    def restart(self) -> None:
        """Forget the outputs of an attempt that stopped before its first checkpoint."""
        self.metrics_path.unlink(missing_ok=True)
        if self.samples_dir.is_dir():
            shutil.rmtree(self.samples_dir)

    def truncate_metrics(self, step: int) -> None:
        """Drop log records after ``step`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if int(r.get("step", 0)) <= step]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept))

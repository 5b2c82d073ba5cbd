"""Temperature sweeps (``ganzoo eval RUN --temperature-sweep 0.5,0.7,1,1.3``): one run scored at several softmax
temperatures under one protocol, the quality-diversity curve of a model that samples tokens.

Lower temperatures make samples likelier and alike (quality up, diversity down), higher ones the reverse; a
text GAN is only better than maximum likelihood if its curve lies beyond MLE's at every temperature (Caccia
et al. 2020). The curve is written as JSON beside the run (``RUN/temperature-sweep.json``) and drawn against
other runs' curves by ``ganzoo plot --quality-diversity``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.device import resolve_device
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.evaluation import scoring_context
from ganzoo.metrics.base import evaluate
from ganzoo.metrics.protocol import EvalProtocol
from ganzoo.nets.base import check_temperature, temperature_keywords
from ganzoo.plugins import get_registry
from ganzoo.sampling import load_run
from ganzoo.storage.checkpoint import atomic_write_text

SWEEP_FILE = "temperature-sweep.json"


@dataclass
class Sweep:
    """Scores of one run at each temperature, with the protocols they share."""

    run: str
    step: int
    weights: str
    temperatures: list[float]
    scores: list[dict[str, float]]
    """One mapping of scores per temperature, in the order of :attr:`temperatures`."""
    protocols: dict[str, Any]
    better: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "step": self.step, "weights": self.weights,
                "points": [{"temperature": t, "scores": s} for t, s in zip(self.temperatures, self.scores, strict=True)],
                "protocol": self.protocols, "better": self.better}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sweep:
        points = data["points"]
        return cls(data["run"], int(data["step"]), data["weights"], [float(p["temperature"]) for p in points],
                   [dict(p["scores"]) for p in points], data["protocol"], data["better"])


def parse_temperatures(text: str) -> list[float]:
    """'0.5,0.7,1,1.3' -> [0.5, 0.7, 1.0, 1.3]: each finite and > 0, no repeats."""
    temperatures = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(f"temperature sweep: {part.strip()!r} is not a number (give e.g. 0.5,0.7,1,1.3)") from None
        temperatures.append(check_temperature(value))
    if len(set(temperatures)) != len(temperatures):
        raise ConfigError(f"temperature sweep: {text!r} repeats a temperature")
    return temperatures


def sweep_temperatures(path: str | Path, temperatures: Sequence[float], protocol: EvalProtocol | None = None,
                       device: str = "cpu", *, weights: str = "auto", out: str | Path | None = None,
                       progress: Callable[[float, dict[str, float]], None] | None = None) -> tuple[Sweep, Path]:
    """Score the run at each temperature (the same samples' seed, the same metrics) and write the curve.

    ``out`` defaults to ``RUN/temperature-sweep.json``; ``progress`` is called after each temperature with its
    scores. Every temperature is checked, and the model asked whether it samples tokens, before anything runs.
    """
    temperatures = [check_temperature(t) for t in temperatures]
    if not temperatures:
        raise ConfigError("temperature sweep: give at least one temperature")
    protocol = protocol or EvalProtocol()
    registry = get_registry()
    loaded = load_run(path, device, weights=weights)
    for t in temperatures:
        temperature_keywords(loaded.generator, t, loaded.data_info.modality)
    if out is None:
        if loaded.run_dir is None:
            raise ConfigError(f"{path}: a checkpoint outside a run directory; say where the sweep goes with --out")
        out = loaded.run_dir / SWEEP_FILE
    scores, protocols, better = [], {}, {}
    for t in temperatures:
        ctx = scoring_context(registry, loaded.generator, loaded.config, loaded.data_info, protocol,
                              resolve_device(device), run_dir=loaded.run_dir, progress=False, temperature=t)
        report = evaluate(ctx, [registry.metric(name) for name in ctx.requested], step=loaded.step)
        scores.append(report.scores)
        protocols, better = report.protocols, report.better
        if progress is not None:
            progress(t, report.scores)
    sweep = Sweep(str(path), loaded.step, loaded.weights, temperatures, scores, protocols, better)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(sweep.to_json(), indent=1) + "\n")
    return sweep, out


def read_sweep(path: str | Path) -> Sweep:
    """A sweep from its JSON file, or from a run directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / SWEEP_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: no temperature sweep here (make one with "
                              f"`ganzoo eval RUN --temperature-sweep 0.5,0.7,1,1.3`)")
    try:
        return Sweep.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a temperature sweep ({exc})") from None

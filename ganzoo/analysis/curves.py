"""Training curves from a run's metrics.jsonl: losses, D(x) and D(G(z)), other logged values, scores.

Works for any variant: whatever numeric values its step function logged are drawn, grouped as
losses (``loss*``), discriminator outputs (``d_real`` / ``d_fake``) and the rest; evaluation
records (``eval``) get one panel per score with its better direction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.analysis.figures import pyplot, save_figure
from ganzoo.errors import CheckpointError
from ganzoo.storage.rundir import RunDir

NOT_SERIES = {"step", "time_s", "phase"}
LABELS = {
    "loss_d": "D loss",
    "loss_g": "G loss",
    "d_real": "D(x): real data",
    "d_fake": "D(G(z)): generated",
    "ada_p": "p (ADA)",
    "ada_rt": "r_t = E[sign D(real)]",
}
SCORE_NAMES = {"fid": "FID", "isc": "Inception score", "kid": "KID", "prc": "precision/recall"}


@dataclass
class Curves:
    """A run's logged series and scores, by name, as (steps, values)."""

    series: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)
    scores: dict[str, tuple[list[int], list[float], list[float | None]]] = field(default_factory=dict)
    """name -> (steps, values, standard deviations or None)."""
    better: dict[str, str] = field(default_factory=dict)
    phases: list[tuple[int, str]] = field(default_factory=list)
    """(first logged step, name) of each phase, in order."""
    extractor: str | None = None

    def last_step(self) -> int:
        """The highest step anything was logged or scored at."""
        steps = [s for s, *_ in self.series.values()] + [s for s, *_ in self.scores.values()]
        return max((max(s) for s in steps if s), default=0)


def run_directory(path: str | Path) -> RunDir:
    """A run directory, or the run a checkpoint file belongs to."""
    path = Path(path)
    if path.is_file() and path.parent.name == "checkpoints":
        path = path.parent.parent
    return RunDir.open(path)


def collect(records: Iterable[Mapping[str, Any]]) -> Curves:
    """Group metrics.jsonl records into series (training logs) and scores (evaluations)."""
    curves = Curves()
    for record in records:
        step = int(record.get("step", 0))
        if isinstance(record.get("eval"), Mapping):
            _add_scores(curves, step, record)
            continue
        phase = record.get("phase")
        if phase is not None and (not curves.phases or curves.phases[-1][1] != phase):
            curves.phases.append((step, str(phase)))
        for key, value in record.items():
            if key in NOT_SERIES or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            steps, values = curves.series.setdefault(key, ([], []))
            steps.append(step)
            values.append(float(value))
    return curves


def _add_scores(curves: Curves, step: int, record: Mapping[str, Any]) -> None:
    scores = record["eval"]
    curves.better.update(record.get("better", {}))
    for name, value in scores.items():
        if name.endswith("_std") or not isinstance(value, (int, float)):
            continue
        steps, values, stds = curves.scores.setdefault(name, ([], [], []))
        steps.append(step)
        values.append(float(value))
        std = scores.get(f"{name}_std")
        stds.append(float(std) if isinstance(std, (int, float)) else None)
    for protocol in record.get("protocol", {}).values():
        if isinstance(protocol, Mapping) and protocol.get("feature_extractor"):
            curves.extractor = str(protocol["feature_extractor"])


def _panels(curves: Curves) -> list[tuple[str, list[str]]]:
    names = list(curves.series)
    losses = [n for n in names if n.startswith("loss")]
    outputs = [n for n in ("d_real", "d_fake") if n in curves.series]
    ada = [n for n in ("ada_p", "ada_rt") if n in curves.series]
    terms = [n for n in ("r1", "lecam") if n in curves.series]
    rest = [n for n in names if n not in {*losses, *outputs, *ada, *terms}]
    panels = [("losses", losses), ("discriminator outputs (probabilities)", outputs),
              ("ADA: augmentation probability p, overfitting r_t", ada), ("regulariser terms", terms),
              ("other logged values", rest)]
    return [(title, keys) for title, keys in panels if keys]


def _mark_phases(ax: Any, curves: Curves) -> None:
    if len(curves.phases) < 2:
        return
    for i, (step, name) in enumerate(curves.phases):
        if i > 0:
            ax.axvline(step, color="0.6", linestyle=":", linewidth=1)
        ax.text(step if i > 0 else 0, 1.0, f" {name}", transform=ax.get_xaxis_transform(), fontsize=7, va="top",
                color="0.4")


def plot_curves(path: str | Path, out: str | Path | None = None) -> tuple[Path, Curves]:
    """Draw a run's curves to ``out`` (default RUN/analysis/curves.png); returns the file and the data."""
    run = run_directory(path)
    curves = collect(run.read_metrics())
    if not curves.series and not curves.scores:
        raise CheckpointError(f"{run.path} has no logged steps yet ({run.metrics_path.name} is empty or missing)")
    out = Path(out) if out is not None else run.path / "analysis" / "curves.png"
    panels = _panels(curves)
    scores = list(curves.scores)
    plt = pyplot()
    columns = max(len(panels), len(scores), 1)
    rows = 1 + bool(scores) if panels else 1
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.3 * rows), squeeze=False)
    top_row = axes[0] if panels else []
    for ax, (title, keys) in zip(top_row, panels, strict=False):
        for key in keys:
            steps, values = curves.series[key]
            ax.plot(steps, values, marker="." if len(steps) < 30 else None, linewidth=1.4, label=LABELS.get(key, key))
        if "d_real" in keys:
            ax.axhline(0.5, color="0.5", linestyle="--", linewidth=1, label="1/2 (D cannot tell)")
            ax.set_ylim(-0.02, 1.02)
        _mark_phases(ax, curves)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    score_row = axes[-1] if scores else []
    for ax, name in zip(score_row, scores, strict=False):
        steps, values, stds = curves.scores[name]
        errors = [s if s is not None else 0.0 for s in stds] if any(s is not None for s in stds) else None
        ax.errorbar(steps, values, yerr=errors, marker="o", markersize=4, capsize=3, color="tab:purple")
        notes = [f"{curves.better[name]} is better"] if name in curves.better else []
        if errors is not None:
            notes.append("bars: ± std")
        title = SCORE_NAMES.get(name, name)
        ax.set_title(f"{title} ({'; '.join(notes)})" if notes else title, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    last_step = max(curves.last_step(), 1)
    for ax in axes.flat:
        ax.set_xlim(0, last_step * 1.02)
        if not ax.has_data():
            ax.set_visible(False)
    source = f" (scores measured with {curves.extractor} features)" if curves.extractor else ""
    fig.suptitle(f"training curves of {run.path.name}{source}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return save_figure(fig, out), curves

"""Quality against diversity for several runs' temperature sweeps on one figure (``ganzoo plot
--quality-diversity``): the comparison of text GANs with MLE that BLEU alone hides (Caccia et al. 2020).

Each run is one line through its temperatures, each point labelled with its temperature. The axes default
to NLL-oracle (quality) against NLL-test (coverage of the held-out data) where the runs have them (the
synthetic oracle), else BLEU-4 against self-BLEU-4 (real text); each axis says which way is better.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ganzoo.analysis.figures import pyplot, save_figure
from ganzoo.errors import ConfigError
from ganzoo.sweeping import Sweep, read_sweep

DEFAULT_AXES = (("nll_oracle", "nll_test"), ("bleu4", "self_bleu4"))
"""(quality, diversity) score pairs tried in order: the first that every point of every sweep has."""
LABELS = {"nll_oracle": "NLL-oracle", "nll_test": "NLL-test", "bleu4": "BLEU-4", "self_bleu4": "self-BLEU-4"}


def choose_axes(sweeps: Sequence[Sweep], quality: str | None, diversity: str | None) -> tuple[str, str]:
    """The (quality, diversity) scores to draw: the ones asked for, else the first default pair all runs have."""
    have = set.intersection(*(set(point) for sweep in sweeps for point in sweep.scores))
    if quality is None and diversity is None:
        for pair in DEFAULT_AXES:
            if set(pair) <= have:
                return pair
        raise ConfigError(f"the sweeps share none of the default score pairs {DEFAULT_AXES}; name them with "
                          f"--quality and --diversity (they share: {', '.join(sorted(have)) or 'nothing'})")
    if quality is None or diversity is None:
        raise ConfigError("give both --quality and --diversity, or neither")
    missing = [name for name in (quality, diversity) if name not in have]
    if missing:
        raise ConfigError(f"not every point of the sweeps has {', '.join(missing)} (they share: "
                          f"{', '.join(sorted(have)) or 'nothing'})")
    return quality, diversity


def axis_label(name: str, better: str | None) -> str:
    shown = LABELS.get(name, name.replace("_", "-"))
    return f"{shown} ({better} is better)" if better else shown


def plot_quality_diversity(paths: Sequence[str | Path], out: str | Path, *, names: Sequence[str] | None = None,
                           quality: str | None = None, diversity: str | None = None) -> Path:
    """Draw each sweep (a sweep file or a run directory holding one) as a line of quality against diversity."""
    if names is not None and len(names) != len(paths):
        raise ConfigError(f"{len(names)} names for {len(paths)} runs; give one name per run")
    sweeps = [read_sweep(path) for path in paths]
    quality, diversity = choose_axes(sweeps, quality, diversity)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    for index, sweep in enumerate(sweeps):
        label = names[index] if names is not None else Path(sweep.run).name
        xs = [point[diversity] for point in sweep.scores]
        ys = [point[quality] for point in sweep.scores]
        (line,) = ax.plot(xs, ys, marker="o", label=label)
        for x, y, t in zip(xs, ys, sweep.temperatures, strict=True):
            ax.annotate(f"{t:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8, color=line.get_color())
    better = {**sweeps[0].better}
    ax.set_xlabel(axis_label(diversity, better.get(diversity)))
    ax.set_ylabel(axis_label(quality, better.get(quality)))
    ax.set_title("quality against diversity across sampling temperatures (labels: temperature)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, Path(out))

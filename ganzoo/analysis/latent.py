"""Walking the latent space: straight-line (lerp) and great-circle (slerp) interpolation.

A smooth walk between two latents, with every image along it plausible, is the first
evidence that G learned a continuous representation rather than a lookup of memorised images
(Radford et al. 2015, section 6.1). Latents drawn from N(0, I) in d dimensions lie near the
sphere of radius sqrt(d); lerp cuts through the inside of it (its midpoint is about 1/sqrt(2)
that long), slerp stays on it (White 2016, Sampling Generative Networks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganzoo.analysis.figures import Row, cell_figure
from ganzoo.errors import ConfigError
from ganzoo.sampling import LoadedRun, check_labels


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Points on the straight line from a to b: (T, d) for t of shape (T,)."""
    t = t[:, None]
    return (1 - t) * a[None] + t * b[None]


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Points on the great circle from a to b (their norms interpolated linearly); lerp when a, b are parallel."""
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(omega)) < 1e-6:
        return lerp(a, b, t)
    t = t[:, None]
    return (torch.sin((1 - t) * omega) * a[None] + torch.sin(t * omega) * b[None]) / torch.sin(omega)


PATHS = {"lerp": lerp, "slerp": slerp}
HALFWAY = torch.tensor([0.5])


@dataclass
class Interpolation:
    """The latents and images of each path, and their norms halfway along."""

    images: dict[str, list[Tensor]]
    """'lerp' / 'slerp' -> one (steps, C, H, W) tensor per pair."""
    latent_dim: int
    midpoint_norms: dict[str, float]
    """Mean latent norm halfway along each kind of path."""
    path: Path | None = None
    """The figure, once saved."""


def check_images(loaded: LoadedRun, what: str) -> None:
    """These analyses render images; say so clearly for other modalities."""
    if loaded.data_info.modality != "image":
        raise ConfigError(f"{what} draws images; this run's data is {loaded.data_info.modality}")


@torch.no_grad()
def interpolate(loaded: LoadedRun, pairs: int = 4, steps: int = 10, seed: int = 0, label: int | None = None) -> Interpolation:
    """Generate lerp and slerp paths between ``pairs`` random latent pairs, ``steps`` images each."""
    check_images(loaded, "interpolation")
    if pairs < 1 or steps < 2:
        raise ConfigError(f"interpolation needs at least 1 pair and 2 steps, got {pairs} pairs and {steps} steps")
    G = loaded.generator
    noise = torch.Generator().manual_seed(seed)
    ends = G.sample_latent(2 * pairs, noise).cpu()
    if label is not None:
        labels = torch.full((pairs,), int(label), dtype=torch.long)
        check_labels(G, labels)
    else:
        labels = G.sample_labels(pairs, noise)
        labels = labels.cpu() if labels is not None else None
    t = torch.linspace(0, 1, steps)
    images: dict[str, list[Tensor]] = {"lerp": [], "slerp": []}
    middle: dict[str, list[float]] = {"lerp": [], "slerp": []}
    for i in range(pairs):
        a, b = ends[2 * i], ends[2 * i + 1]
        for kind, walk in PATHS.items():
            path = walk(a, b, t)
            row_labels = labels[i].repeat(steps).to(G.device) if labels is not None else None
            images[kind].append(G(path.to(G.device), row_labels).float().cpu())
            middle[kind].append(float(walk(a, b, HALFWAY).norm()))
    norms = {kind: sum(values) / len(values) for kind, values in middle.items()}
    return Interpolation(images, G.latent_dim, norms)


def save_interpolation(result: Interpolation, path: Path, title: str) -> Path:
    """Rows of lerp then slerp for each pair, t from 0 to 1 left to right."""
    rows = []
    for i, (straight, circle) in enumerate(zip(result.images["lerp"], result.images["slerp"], strict=True)):
        rows.append(Row(f"pair {i + 1}: lerp", list(straight)))
        rows.append(Row(f"pair {i + 1}: slerp", list(circle)))
    steps = len(result.images["lerp"][0])
    headers = [f"t = {k / (steps - 1):.2f}" for k in range(steps)]
    typical = result.latent_dim ** 0.5
    footer = (f"latent norm halfway: lerp {result.midpoint_norms['lerp']:.1f}, slerp {result.midpoint_norms['slerp']:.1f} "
              f"(latents from N(0, I) in {result.latent_dim} dimensions have norm close to {typical:.1f})")
    return cell_figure(rows, path, title=title, footer=footer, headers=headers, cell_inches=0.6)

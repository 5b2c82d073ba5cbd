"""A 1-D GAN trained live on a Gaussian from uniform noise, in the four stages of Goodfellow et al.
2014, Figure 1.

G maps z ~ U(-1, 1) to x; D scores x. Training follows the figure's story:

(a) start: G's distribution sits beside the data, D is only partly trained;
(b) D is trained with G fixed until it is close to D*(x) = p_data / (p_data + p_g);
(c) G alone takes a few steps: D's gradient moves G(z) toward the data;
(d) G and D train in turns (k = 1) until p_g matches p_data and D(x) is close to 1/2.

Snapshots (densities, D on a grid, the z -> x map, the Wasserstein-1 distance between p_g and
p_data) are taken along the way; :mod:`ganzoo.analysis.toy1d_figure` draws them. It is a
self-contained demo, not a registered variant: its networks are two tiny MLPs defined here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError
from ganzoo.losses import bce_discriminator_loss, nonsaturating_generator_loss

GRID_POINTS = 400
MAP_ARROWS = 15
DENSITY_SAMPLES = 4000


@dataclass(frozen=True)
class Toy1DConfig:
    """The data, the starting generator and the length of each stage."""

    data_mean: float = 1.0
    data_std: float = 0.5
    start_mean: float = -0.8
    start_std: float = 0.7
    hidden: int = 32
    batch_size: int = 256
    lr: float = 1e-3
    warmup_d_steps: int = 15
    """Stage (a): D steps from its random start, so it is only partly accurate."""
    converge_d_steps: int = 600
    """Stage (b): D steps with G fixed."""
    g_steps: int = 15
    """Stage (c): G steps with D fixed."""
    train_steps: int = 1500
    """Stage (d): alternating steps (one D step, one G step)."""
    frames: int = 60
    """Snapshots for the animation (the four stage ends are always among them)."""
    seed: int = 0

    def check(self) -> None:
        """Reject settings the demo cannot run with."""
        counts = {"warmup_d_steps": self.warmup_d_steps, "converge_d_steps": self.converge_d_steps,
                  "g_steps": self.g_steps, "train_steps": self.train_steps}
        for name, value in counts.items():
            if value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if self.frames < 4:
            raise ConfigError(f"frames must be at least 4 (one per stage), got {self.frames}")
        if self.data_std <= 0 or self.start_std <= 0:
            raise ConfigError("data_std and start_std must be positive")
        if self.hidden < 1 or self.batch_size < 2 or not self.lr > 0:
            raise ConfigError("hidden must be >= 1, batch_size >= 2 and lr > 0")

    @property
    def x_range(self) -> tuple[float, float]:
        """The stretch of x the pictures show: both distributions out to 3.5 standard deviations."""
        low = min(self.data_mean - 3.5 * self.data_std, self.start_mean - 3.5 * self.start_std)
        high = max(self.data_mean + 3.5 * self.data_std, self.start_mean + 3.5 * self.start_std)
        return low, high


@dataclass
class Snapshot:
    """Everything one picture of the game needs, as plain CPU tensors."""

    stage: str
    step: int
    """Optimiser steps taken so far (D and G together)."""
    grid: Tensor
    data_density: Tensor
    generator_density: Tensor
    discriminator: Tensor
    """D(x) on the grid (a probability)."""
    z_arrows: Tensor
    x_arrows: Tensor
    """G(z) of the arrows' z values."""
    wasserstein: float
    """W1(p_g, p_data): the mean distance each generated point must move to become the data."""

    @property
    def optimal_discriminator(self) -> Tensor:
        """D*(x) = p_data / (p_data + p_g) for the current G (Goodfellow et al. 2014, Proposition 1);
        NaN where neither density has visible mass (D* is undefined there)."""
        total = self.data_density + self.generator_density
        defined = total > 1e-3 * float(total.max())
        return torch.where(defined, self.data_density / total.clamp_min(1e-12), torch.full_like(total, float("nan")))

    def discriminator_on_data(self, mass: float = 0.95) -> tuple[float, float]:
        """The lowest and highest D(x) where the data has most of its mass (the central ``mass``)."""
        order = torch.argsort(self.data_density, descending=True)
        cumulative = torch.cumsum(self.data_density[order], 0) * (self.grid[1] - self.grid[0])
        central = order[: int((cumulative < mass).sum()) + 1]
        values = self.discriminator[central]
        return float(values.min()), float(values.max())


@dataclass
class Toy1DResult:
    """The four stage snapshots, every animation frame, and the W1 distance along training."""

    config: Toy1DConfig
    stages: dict[str, Snapshot]
    frames: list[Snapshot]
    seconds: float = 0.0
    """Wall time of the demo (training; the API adds drawing)."""
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        stages = {}
        for name, snap in self.stages.items():
            low, high = snap.discriminator_on_data()
            stages[name] = {"step": snap.step, "wasserstein": round(snap.wasserstein, 4),
                            "d_on_data": [round(low, 3), round(high, 3)]}
        return {
            "stages": stages,
            "wasserstein_by_step": [[s.step, round(s.wasserstein, 4)] for s in self.frames],
            "seconds": round(self.seconds, 2),
            "files": dict(self.files),
        }


def _mlp(hidden: int, activation: Callable[[], nn.Module]) -> nn.Sequential:
    return nn.Sequential(nn.Linear(1, hidden), activation(), nn.Linear(hidden, hidden), activation(),
                         nn.Linear(hidden, 1))


def gaussian_pdf(x: Tensor, mean: float, std: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def kernel_density(points: Tensor, grid: Tensor) -> Tensor:
    """Gaussian kernel density estimate of 1-D points on a grid (Scott's bandwidth)."""
    bandwidth = max(1.06 * float(points.std()) * len(points) ** -0.2, 1e-3)
    weights = gaussian_pdf(grid[:, None] - points[None, :], 0.0, bandwidth)
    return weights.mean(dim=1)


def uniform_quantiles(n: int) -> Tensor:
    """n evenly spaced z in (-1, 1): the midpoints of n equal-probability bins of U(-1, 1)."""
    return (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1


def wasserstein_to_gaussian(samples: Tensor, mean: float, std: float) -> float:
    """W1 between the empirical distribution of ``samples`` and N(mean, std^2), by matching quantiles."""
    n = len(samples)
    probabilities = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    quantiles = mean + std * math.sqrt(2) * torch.erfinv(2 * probabilities - 1)
    return float((samples.double().sort().values - quantiles).abs().mean())


class Toy1DGame:
    """The two networks, their optimisers and the data, stepped one stage at a time."""

    def __init__(self, config: Toy1DConfig) -> None:
        config.check()
        self.config = config
        self.rng = torch.Generator().manual_seed(config.seed)
        torch.manual_seed(config.seed)
        self.generator = _mlp(config.hidden, nn.Tanh)
        self.discriminator = _mlp(config.hidden, lambda: nn.LeakyReLU(0.2))
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=(0.5, 0.999))
        self.step = 0
        self.train_steps_done = 0
        low, high = config.x_range
        self.grid = torch.linspace(low, high, GRID_POINTS)
        self._place_generator()

    def _place_generator(self) -> None:
        """Start G as the map that turns U(-1, 1) into roughly N(start_mean, start_std^2).

        A regression onto the Gaussian quantile function (cut at 1% and 99%), so every seed
        starts from the same picture: p_g beside p_data, as in the figure.
        """
        cfg = self.config
        z = uniform_quantiles(512)[:, None]
        target = cfg.start_mean + cfg.start_std * math.sqrt(2) * torch.erfinv(0.98 * z)
        optimizer = torch.optim.Adam(self.generator.parameters(), lr=1e-2)
        for _ in range(400):
            optimizer.zero_grad()
            loss = (self.generator(z) - target).pow(2).mean()
            loss.backward()
            optimizer.step()

    def sample_z(self, n: int) -> Tensor:
        return torch.rand(n, 1, generator=self.rng) * 2 - 1

    def sample_data(self, n: int) -> Tensor:
        return self.config.data_mean + self.config.data_std * torch.randn(n, 1, generator=self.rng)

    def d_step(self) -> None:
        n = self.config.batch_size
        with torch.no_grad():
            fake = self.generator(self.sample_z(n))
        loss = bce_discriminator_loss(self.discriminator(self.sample_data(n)).squeeze(1),
                                      self.discriminator(fake).squeeze(1))
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()
        self.step += 1

    def g_step(self) -> None:
        for p in self.discriminator.parameters():
            p.requires_grad_(False)
        loss = nonsaturating_generator_loss(self.discriminator(self.generator(self.sample_z(self.config.batch_size))).squeeze(1))
        for p in self.discriminator.parameters():
            p.requires_grad_(True)
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()
        self.step += 1

    def train_step(self) -> None:
        """One D step then one G step, learning rates decaying linearly to a tenth over stage (d)
        so the pair settles instead of circling the equilibrium."""
        self.d_step()
        self.g_step()
        self.train_steps_done += 1
        scale = 1.0 - 0.9 * min(1.0, self.train_steps_done / self.config.train_steps)
        for optimizer in (self.opt_d, self.opt_g):
            for group in optimizer.param_groups:
                group["lr"] = self.config.lr * scale

    @torch.no_grad()
    def snapshot(self, stage: str) -> Snapshot:
        cfg = self.config
        generated = self.generator(uniform_quantiles(DENSITY_SAMPLES)[:, None]).squeeze(1)
        z_arrows = torch.linspace(-0.95, 0.95, MAP_ARROWS)
        return Snapshot(
            stage=stage,
            step=self.step,
            grid=self.grid.clone(),
            data_density=gaussian_pdf(self.grid, cfg.data_mean, cfg.data_std),
            generator_density=kernel_density(generated, self.grid),
            discriminator=torch.sigmoid(self.discriminator(self.grid[:, None]).squeeze(1)),
            z_arrows=z_arrows,
            x_arrows=self.generator(z_arrows[:, None]).squeeze(1),
            wasserstein=wasserstein_to_gaussian(generated, cfg.data_mean, cfg.data_std),
        )


def _frame_points(steps: int, frames: int) -> set[int]:
    """Which of ``steps`` iterations end with a snapshot: about ``frames`` of them, spaced
    geometrically (the game changes fastest at the start of each stage), the last included."""
    frames = max(1, min(frames, steps))
    return {max(1, round(steps ** ((i + 1) / frames))) for i in range(frames)}


def _frame_budget(config: Toy1DConfig) -> dict[str, int]:
    """Split the animation's frames over the stages (few for the short ones, most for training)."""
    shares = {"a": 0.05, "b": 0.2, "c": 0.15, "d": 0.6}
    return {stage: max(1, round(config.frames * share)) for stage, share in shares.items()}


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread for the block: the networks are so small that more threads only wait on
    each other (on a busy 2-core machine, ten times slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_toy1d(config: Toy1DConfig | None = None) -> Toy1DResult:
    """Train the 1-D game through its four stages; return the stage snapshots and the frames."""
    with one_thread(), torch.random.fork_rng(devices=[]):  # seeds its own networks, leaves the caller's RNG alone
        return _run(config or Toy1DConfig())


def _run(config: Toy1DConfig) -> Toy1DResult:
    started = time.perf_counter()
    game = Toy1DGame(config)
    frames = [game.snapshot("a")]
    stages: dict[str, Snapshot] = {}
    budget = _frame_budget(config)
    plan: list[tuple[str, int, Callable[[], None]]] = [
        ("a", config.warmup_d_steps, game.d_step),
        ("b", config.converge_d_steps, game.d_step),
        ("c", config.g_steps, game.g_step),
        ("d", config.train_steps, game.train_step),
    ]
    for stage, steps, step in plan:
        points = _frame_points(steps, budget[stage])
        for i in range(1, steps + 1):
            step()
            if i in points:
                frames.append(game.snapshot(stage))
        stages[stage] = frames[-1]
    return Toy1DResult(config, stages, frames, time.perf_counter() - started)

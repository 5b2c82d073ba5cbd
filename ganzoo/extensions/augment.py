"""Differentiable augmentation of everything D sees: DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020).

Both transform real and fake images alike before every D call, in D and G steps (the driver's
``transform`` point), so D never sees an un-augmented image and G gets gradients through the
transform. As in DiffAugment, each call draws its own random parameters per image. Images are
in [-1, 1].

The transforms are written here with plain torch ops: DiffAugment's translation is an integer
shift with zero fill and its cutout a zeroed square, which resampling-based library transforms
(kornia's RandomAffine, RandomErasing) do not reproduce and are slower at this size; ADA's
geometric part is one ``affine_grid`` / ``grid_sample`` per batch (torch's own resampler).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.driver.state import DiscriminatorStep, Losses, TrainingExtension, TrainState
from ganzoo.errors import ConfigError, unknown_name


# ---- DiffAugment's three policies -------------------------------------------------------------
def _per_image(x: Tensor, low: float, high: float) -> Tensor:
    return torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).uniform_(low, high)


def color(x: Tensor) -> Tensor:
    """Random brightness (+-0.5), saturation (x0..2, colour images) and contrast (x0.5..1.5) per image."""
    x = x + _per_image(x, -0.5, 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * _per_image(x, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_image(x, 0.5, 1.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by a random whole number of pixels (up to ``ratio`` of its size), filling with zeros."""
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (n, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), device=x.device)
    rows = (torch.arange(h, device=x.device) + dy + sy)[:, :, None]  # (n, h, 1) into the padded image
    cols = (torch.arange(w, device=x.device) + dx + sx)[:, None, :]  # (n, 1, w)
    padded = F.pad(x, [sx, sx, sy, sy])
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one square of ``ratio`` x the image size per image, centred anywhere (clipped by the border)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h, (n, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w, (n, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, Callable[[Tensor], Tensor]] = {"color": color, "translation": translation, "cutout": cutout}
DEFAULT_POLICY = ("color", "translation", "cutout")


def parse_policy(args: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); empty -> all three (DiffAugment's setting for small data)."""
    names = tuple(part.strip() for part in args.split(",") if part.strip()) if args else DEFAULT_POLICY
    for name in names:
        if name not in POLICIES:
            raise unknown_name("DiffAugment policy", name, list(POLICIES))
    if len(set(names)) != len(names):
        raise ConfigError(f"diffaugment: a policy is named twice in {args!r}")
    return names


class DiffAugment(TrainingExtension):
    """The same policy of random differentiable transforms on real and fake images before every D call."""

    name = "diffaugment"

    def __init__(self, policy: tuple[str, ...] = DEFAULT_POLICY) -> None:
        self.policy = policy

    def transform(self, x: Tensor, state: TrainState) -> Tensor:
        for name in self.policy:
            x = POLICIES[name](x)
        return x


# ---- ADA ---------------------------------------------------------------------------------------
ADA_INTERVAL = 4
"""D steps between adjustments of p (ADA's default)."""


def _chance(n: int, p: float, device: torch.device) -> Tensor:
    return torch.rand(n, device=device) < p


def _matrix(a: Tensor, b: Tensor, c: Tensor, d: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([torch.stack([a, b, tx], -1), torch.stack([c, d, ty], -1), torch.stack([zero, zero, one], -1)], -2)


def ada_geometry(n: int, p: float, size: int, device: torch.device) -> Tensor:
    """Per-image 3x3 maps of normalised output to input coordinates: ADA's x-flip, 90-degree rotation,
    integer translation, isotropic scaling, arbitrary rotation, anisotropic scaling and fractional
    translation, each applied to an image with probability p (rotation with 1 - sqrt(1 - p), as ADA does)."""
    f32 = dict(device=device, dtype=torch.float32)
    one, zero = torch.ones(n, **f32), torch.zeros(n, **f32)
    out = torch.eye(3, **f32).repeat(n, 1, 1)

    def then(m: Tensor) -> None:
        nonlocal out
        out = out @ m

    flip = torch.where(_chance(n, p, device), 1.0 - 2.0 * torch.randint(0, 2, (n,), **f32), one)
    then(_matrix(flip, zero, zero, one, zero, zero))
    quarter = torch.where(_chance(n, p, device), torch.randint(0, 4, (n,), **f32), zero) * (math.pi / 2)
    then(_matrix(quarter.cos().round(), -quarter.sin().round(), quarter.sin().round(), quarter.cos().round(), zero, zero))
    shift = torch.randint(-int(size * 0.125), int(size * 0.125) + 1, (2, n), **f32) * (2.0 / size)
    shift = torch.where(_chance(n, p, device), shift, zero)
    then(_matrix(one, zero, zero, one, shift[0], shift[1]))
    scale = torch.where(_chance(n, p, device), torch.exp2(torch.randn(n, **f32) * 0.2), one)
    then(_matrix(scale, zero, zero, scale, zero, zero))
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))
    angle = torch.where(_chance(n, p_rot, device), (torch.rand(n, **f32) * 2 - 1) * math.pi, zero)
    then(_matrix(angle.cos(), -angle.sin(), angle.sin(), angle.cos(), zero, zero))
    aniso = torch.where(_chance(n, p, device), torch.exp2(torch.randn(n, **f32) * 0.2), one)
    then(_matrix(aniso, zero, zero, 1 / aniso, zero, zero))
    angle = torch.where(_chance(n, p_rot, device), (torch.rand(n, **f32) * 2 - 1) * math.pi, zero)
    then(_matrix(angle.cos(), -angle.sin(), angle.sin(), angle.cos(), zero, zero))
    frac = torch.where(_chance(n, p, device), torch.randn(2, n, **f32) * 0.125 * 2, zero)
    then(_matrix(one, zero, zero, one, frac[0], frac[1]))
    return out


def ada_color(x: Tensor, p: float) -> Tensor:
    """ADA's brightness (N(0, 0.2)), contrast (lognormal, std 0.5 octaves) and, for colour images, saturation
    (lognormal, std 1 octave), each with probability p per image."""
    n, device = x.shape[0], x.device
    brightness = torch.where(_chance(n, p, device), torch.randn(n, device=device) * 0.2, 0.0)
    x = x + brightness.view(n, 1, 1, 1).to(x.dtype)
    contrast = torch.where(_chance(n, p, device), torch.exp2(torch.randn(n, device=device) * 0.5), 1.0)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast.view(n, 1, 1, 1).to(x.dtype) + mean
    if x.shape[1] > 1:
        saturation = torch.where(_chance(n, p, device), torch.exp2(torch.randn(n, device=device)), 1.0)
        luma = x.mean(dim=1, keepdim=True)
        x = (x - luma) * saturation.view(n, 1, 1, 1).to(x.dtype) + luma
    return x


def ada_augment(x: Tensor, p: float) -> Tensor:
    """ADA's geometric and colour transforms at probability p (the identity at p = 0)."""
    if p <= 0:
        return x
    n, _, h, w = x.shape
    theta = ada_geometry(n, p, h, x.device)[:, :2, :]
    grid = F.affine_grid(theta, [n, x.shape[1], h, w], align_corners=False)
    x = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="reflection", align_corners=False).to(x.dtype)
    return ada_color(x, p)


class ADA(TrainingExtension):
    """Adaptive augmentation: p follows the overfitting heuristic r_t = E[sign(D(real))] toward ``target``.

    Every :data:`ADA_INTERVAL` D steps p moves by sign(r_t - target) x (images seen) / (``kimg`` x 1000),
    so p can cross [0, 1] in ``kimg`` thousand images.
    """

    name = "ada"

    def __init__(self, target: float = 0.6, kimg: float = 100.0) -> None:
        if not 0.0 < target < 1.0:
            raise ConfigError(f"ada: the target of r_t must be in (0, 1), got {target:g} (ADA uses 0.6)")
        self.target = target
        self.kimg = kimg
        self.p = 0.0
        self.signs = 0.0
        self.seen = 0
        self.steps = 0
        self.last_rt = 0.0

    def transform(self, x: Tensor, state: TrainState) -> Tensor:
        return ada_augment(x, self.p)

    def discriminator_terms(self, step: DiscriminatorStep, losses: Losses) -> Mapping[str, Tensor]:
        if losses.real_logits is not None:
            logits = losses.real_logits.detach().float()
            self.signs = self.signs + torch.sign(logits).sum()  # on the device: one host sync per interval, not per step
            self.seen += logits.numel()
        self.steps += 1
        if self.steps % ADA_INTERVAL == 0 and self.seen:
            self.last_rt = float(self.signs) / self.seen
            adjust = math.copysign(1.0, self.last_rt - self.target) * self.seen / (self.kimg * 1000)
            self.p = min(1.0, max(0.0, self.p + adjust))
            self.signs, self.seen = 0.0, 0
        return {}

    def logs(self, state: TrainState) -> Mapping[str, Tensor]:
        return {"ada_p": torch.tensor(self.p), "ada_rt": torch.tensor(self.last_rt)}

    def state_dict(self) -> dict[str, Tensor]:
        values = [self.p, float(self.signs), float(self.seen), float(self.steps), self.last_rt]
        return {"state": torch.tensor(values, dtype=torch.float64)}

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        p, signs, seen, steps, last_rt = tensors["state"].tolist()
        self.p, self.signs, self.seen, self.steps, self.last_rt = p, signs, int(seen), int(steps), last_rt

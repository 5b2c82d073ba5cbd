"""Adversarial losses: the LossSpec contract, and ganzoo's own losses as pure functions of discriminator logits.

D(x) = sigmoid(logit). Everything is written with softplus, which stays finite for extreme
logits: -log sigmoid(l) = softplus(-l) and -log(1 - sigmoid(l)) = softplus(l).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss given as two pure functions of discriminator logits."""

    name: str
    description: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    """(real_logits, fake_logits) -> scalar discriminator loss."""
    g_loss: Callable[[Tensor], Tensor]
    """fake_logits -> scalar generator loss."""
    paper: str = ""

GAN_PAPER = "Goodfellow et al. 2014, Generative Adversarial Nets"
HINGE_PAPER = "Lim & Ye 2017, Geometric GAN (arXiv:1705.02894); used by Miyato et al. 2018 (SNGAN, projection D)"


def bce_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))]: the discriminator's side of the minimax game."""
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def nonsaturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """-E[log D(G(z))]: strong gradients early in training (Goodfellow et al. 2014, section 3)."""
    return F.softplus(-fake_logits.float()).mean()


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    """E[log(1 - D(G(z)))]: the saturating form of the paper's value function."""
    return -F.softplus(fake_logits.float()).mean()


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: D is only pushed until scores clear the margin."""
    return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()


def hinge_generator_loss(fake_logits: Tensor) -> Tensor:
    """-E[D(G(z))]: G raises D's raw score of its samples."""
    return -fake_logits.float().mean()


NONSATURATING = LossSpec(
    name="nonsaturating",
    description="BCE for D; G minimises -log D(G(z)) (the usual practice)",
    d_loss=bce_discriminator_loss,
    g_loss=nonsaturating_generator_loss,
    paper=GAN_PAPER,
)

MINIMAX = LossSpec(
    name="minimax",
    description="BCE for D; G minimises log(1 - D(G(z))) (the paper's saturating value function)",
    d_loss=bce_discriminator_loss,
    g_loss=minimax_generator_loss,
    paper=GAN_PAPER,
)

HINGE = LossSpec(
    name="hinge",
    description="hinge loss for D (margin 1 on raw scores); G maximises D's raw score",
    d_loss=hinge_discriminator_loss,
    g_loss=hinge_generator_loss,
    paper=HINGE_PAPER,
)

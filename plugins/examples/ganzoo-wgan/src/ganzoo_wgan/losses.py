"""Adversarial losses as pure functions of critic scores (raw, unbounded outputs of D).

Any image variant can use them through ``--loss``; the Wasserstein loss needs a Lipschitz
critic (a gradient penalty, as in ``wgan-gp``, or weight clipping) to mean anything.
"""

from __future__ import annotations

from torch import Tensor

from ganzoo.plugin import LossSpec


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """E[D(G(z))] - E[D(x)]: minus the critic's estimate of the Wasserstein-1 distance."""
    return fake_scores.float().mean() - real_scores.float().mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """-E[D(G(z))]: move samples up the critic's slope."""
    return -fake_scores.float().mean()


def least_squares_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]: targets b = 1 for real, a = 0 for fake."""
    return 0.5 * (real_scores.float() - 1.0).square().mean() + 0.5 * fake_scores.float().square().mean()


def least_squares_generator_loss(fake_scores: Tensor) -> Tensor:
    """1/2 E[(D(G(z)) - 1)^2]: the generator aims at the real target c = 1."""
    return 0.5 * (fake_scores.float() - 1.0).square().mean()


WASSERSTEIN = LossSpec(
    name="wasserstein",
    description="Wasserstein critic loss; needs a Lipschitz critic (gradient penalty or clipping)",
    d_loss=wasserstein_critic_loss,
    g_loss=wasserstein_generator_loss,
    paper="Arjovsky, Chintala & Bottou 2017, Wasserstein GAN (arXiv:1701.07875)",
)

LSGAN = LossSpec(
    name="lsgan",
    description="least squares: D regresses real to 1 and fake to 0, G pushes fakes to 1",
    d_loss=least_squares_discriminator_loss,
    g_loss=least_squares_generator_loss,
    paper="Mao et al. 2017, Least Squares Generative Adversarial Networks (arXiv:1611.04076)",
)

"""The WGAN-GP objective (Gulrajani et al. 2017, Algorithm 1) on ganzoo's shared k-step driver.

Each of the ``d_steps`` critic updates adds the penalty lambda * (||grad D(x_hat)||_2 - 1)^2 at
x_hat = eps * x + (1 - eps) * G(z), one eps ~ U[0, 1] per sample; the generator update draws
fresh latents (``reuse_fakes = False``), as the paper's algorithm does.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.plugin import DiscriminatorStep, Losses, Objective, TrainState


def interpolate(real: Tensor, fake: Tensor) -> Tensor:
    """Points on straight lines between real and fake samples, one random weight per sample."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return torch.lerp(fake, real, eps)


def gradient_penalty(scores: Tensor, points: Tensor) -> Tensor:
    """E[(||d scores / d points||_2 - 1)^2], kept differentiable so the critic learns from it."""
    (grads,) = torch.autograd.grad(scores.float().sum(), points, create_graph=True)
    return (grads.flatten(1).float().norm(2, dim=1) - 1.0).square().mean()


def critic_scores(critic: nn.Module, real: Tensor, fake: Tensor, state: TrainState) -> tuple[Tensor, Tensor, Tensor]:
    """Scores of real and fake samples, and the gradient penalty, from one forward pass.

    One pass over the concatenated batch is valid because the critic normalises each sample on
    its own (no batch norm).
    """
    mixed = interpolate(real, fake).requires_grad_(True)
    n = real.shape[0]
    with state.autocast():
        scores = critic(torch.cat([real, fake, mixed]))
    real_scores, fake_scores, mixed_scores = scores[:n], scores[n : 2 * n], scores[2 * n :]
    return real_scores, fake_scores, gradient_penalty(mixed_scores, mixed)


class WGANGPObjective(Objective):
    """Critic: the run's loss (Wasserstein by default) plus the weighted gradient penalty; G: the run's loss."""

    reuse_fakes = False
    logits_are_probabilities = False

    def discriminator_loss(self, step: DiscriminatorStep) -> Losses:
        state = step.state
        real = step.real.detach()
        real_scores, fake_scores, penalty = critic_scores(state.discriminator, real, step.fake.to(real.dtype), state)
        critic_loss = state.loss.d_loss(real_scores, fake_scores)
        wasserstein = real_scores.detach().float().mean() - fake_scores.detach().float().mean()
        return Losses(critic_loss + float(state.config["gp_weight"]) * penalty, real_scores, fake_scores,
                      {"gp": penalty.detach(), "wasserstein": wasserstein})

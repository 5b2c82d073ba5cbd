"""The WGAN-GP training step (Gulrajani et al. 2017, Algorithm 1).

``d_steps`` critic updates, each on a fresh real batch, with the penalty
lambda * (||grad D(x_hat)||_2 - 1)^2 at x_hat = eps * x + (1 - eps) * G(z), one eps ~ U[0, 1]
per sample; then one generator update on fresh latents.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ganzoo.trainer.adversarial import frozen
from ganzoo.trainer.state import TrainState


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


def wgan_gp_step(state: TrainState) -> dict[str, Tensor]:
    """One generator update preceded by ``d_steps`` penalised critic updates."""
    G, D, loss = state.generator, state.discriminator, state.loss
    weight = float(state.config["gp_weight"])
    for _ in range(state.d_steps):
        batch = state.next_batch()
        n = batch.x.shape[0]
        with torch.no_grad(), state.autocast():
            fake = G(G.sample_latent(n))
        real_scores, fake_scores, penalty = critic_scores(D, batch.x, fake.to(batch.x.dtype), state)
        d_loss = loss.d_loss(real_scores, fake_scores)
        state.optimize(d_loss + weight * penalty, "discriminator")

    with frozen(D), state.autocast():
        g_loss = loss.g_loss(D(G(G.sample_latent(n))))
    state.optimize(g_loss, "generator")
    return {
        "loss_d": d_loss.detach(),
        "gp": penalty.detach(),
        "loss_g": g_loss.detach(),
        "wasserstein": (real_scores.detach().float().mean() - fake_scores.detach().float().mean()),
    }

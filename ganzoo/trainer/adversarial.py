"""The shared adversarial step: Algorithm 1 of Goodfellow et al. 2014.

k discriminator steps, each on a fresh real minibatch, then one generator step. The fake
batch of the last discriminator step is reused for the generator step (as the PyTorch DCGAN
example does), which saves one generator forward pass per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch
from torch import Tensor, nn

from ganzoo.trainer.state import TrainState


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Turn off parameter gradients of ``module`` for the block (saves D's weight gradients in G steps)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def adversarial_step(state: TrainState) -> dict[str, Tensor]:
    """One generator step preceded by k discriminator steps; returns detached scalars to log."""
    G, D, loss = state.generator, state.discriminator, state.loss
    k = state.d_steps
    for i in range(k):
        batch = state.next_batch()
        n = batch.x.shape[0]
        last = i == k - 1
        fake_labels = G.sample_labels(n)
        with state.autocast():
            with nullcontext() if last else torch.no_grad():
                fake = G(G.sample_latent(n), fake_labels)
            real_logits = D(batch.x, batch.labels)
            fake_logits = D(fake.detach(), fake_labels)
            d_loss = loss.d_loss(real_logits, fake_logits)
        state.optimize(d_loss, "discriminator")

    with frozen(D), state.autocast():
        g_loss = loss.g_loss(D(fake, fake_labels))
    state.optimize(g_loss, "generator")
    return {
        "loss_d": d_loss.detach(),
        "loss_g": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach().float()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),
    }

"""AC-GAN's training step: the shared k-D-steps-then-1-G-step schedule with the class loss added."""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor

from ganzoo.trainer.adversarial import frozen
from ganzoo.trainer.state import TrainState
from ganzoo_acgan.losses import discriminator_loss, generator_loss


def accuracy(class_logits: Tensor, labels: Tensor) -> Tensor:
    return (class_logits.detach().argmax(dim=1) == labels).float().mean()


def acgan_step(state: TrainState) -> dict[str, Tensor]:
    """k discriminator steps then one generator step; logs both losses and the classifier's accuracy."""
    G, D, adversarial = state.generator, state.discriminator, state.loss
    weight = float(state.config["class_weight"])
    classify_fakes = bool(state.config["classify_fakes"])
    k = state.d_steps
    for i in range(k):
        batch = state.next_batch()
        n = batch.x.shape[0]
        last = i == k - 1
        fake_labels = G.sample_labels(n)
        with state.autocast():
            with nullcontext() if last else torch.no_grad():
                fake = G(G.sample_latent(n), fake_labels)
            real_source, real_classes = D.score(batch.x)
            fake_source, fake_classes = D.score(fake.detach())
            d_loss = discriminator_loss(adversarial, real_source, fake_source, real_classes, batch.labels,
                                        fake_classes, fake_labels, weight, classify_fakes)
        state.optimize(d_loss, "discriminator")

    with frozen(D), state.autocast():
        source, classes = D.score(fake)
        g_loss = generator_loss(adversarial, source, classes, fake_labels, weight)
    state.optimize(g_loss, "generator")
    return {
        "loss_d": d_loss.detach(),
        "loss_g": g_loss.detach(),
        "d_real": torch.sigmoid(real_source.detach().float()).mean(),
        "d_fake": torch.sigmoid(fake_source.detach().float()).mean(),
        "acc_real": accuracy(real_classes, batch.labels),
        "acc_fake": accuracy(classes, fake_labels),
    }

"""The k-step driver: Algorithm 1 of Goodfellow et al. 2014, shared by every adversarial variant.

k discriminator steps, each on a fresh real minibatch, then one generator step with D frozen.
The fakes of the last D step are reused for the G step where the objective allows it (as the
PyTorch DCGAN example does), saving one G forward pass per step. A variant changes *what* is
computed by giving an :class:`Objective`; the loop, autocast and optimiser steps stay here.

Extension points, for training extensions that work with any variant (see
:class:`~ganzoo.driver.state.TrainingExtension`): ``transform`` changes what D sees (augmentation), in D and G
steps alike; ``discriminator_terms`` / ``generator_terms`` add to the losses (R1, LeCam);
``after_optimizer_step`` runs after each optimiser step (an EMA of G's weights).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext

import torch
from torch import Tensor, nn

from ganzoo.driver.state import DiscriminatorStep, GeneratorStep, Losses, TrainState


@contextmanager
def frozen(module: nn.Module | None) -> Iterator[None]:
    """Turn off parameter gradients of ``module`` for the block (saves D's weight gradients in G steps)."""
    flags = [(p, p.requires_grad) for p in module.parameters()] if module is not None else []
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


class Objective:
    """What a variant computes in the driver: D's loss and G's loss.

    The default is the run's adversarial loss (``--loss``) on D's logits. Subclasses override
    :meth:`discriminator_loss` and/or :meth:`generator_loss`; ``reuse_fakes = False`` draws
    fresh latents for the G step (and makes every D step's fakes without gradients).
    """

    reuse_fakes: bool = True
    logits_are_probabilities: bool = True
    """False for critics with unbounded scores (WGAN): then D(x) and D(G(z)) are not logged as probabilities."""

    def discriminator_loss(self, step: DiscriminatorStep) -> Losses:
        D, loss = step.state.discriminator, step.state.loss
        real_logits = D(step.real, step.real_labels)
        fake_logits = D(step.fake, step.fake_labels)
        return Losses(loss.d_loss(real_logits, fake_logits), real_logits, fake_logits)

    def generator_loss(self, step: GeneratorStep) -> Losses:
        fake_logits = step.state.discriminator(step.fake, step.fake_labels)
        return Losses(step.state.loss.g_loss(fake_logits), fake_logits=fake_logits)


def _seen(state: TrainState, x: Tensor) -> Tensor:
    for extension in state.extensions:
        x = extension.transform(x, state)
    return x


def _add_terms(losses: Losses, terms: Mapping[str, Tensor]) -> None:
    for name, term in terms.items():
        losses.loss = losses.loss + term
        losses.logs[name] = term.detach()


def k_step(state: TrainState, objective: Objective) -> dict[str, Tensor]:
    """One generator step preceded by k discriminator steps; returns detached scalars to log."""
    G, D = state.generator, state.discriminator
    k = state.d_steps
    for i in range(k):
        batch = state.next_batch()
        n = batch.x.shape[0]
        keep = objective.reuse_fakes and i == k - 1
        fake_labels = batch.condition if batch.condition is not None else G.sample_labels(n)
        real_input = batch.x
        if any(ext.wants_real_grad(state) for ext in state.extensions):
            real_input = batch.x.detach().requires_grad_(True)
        with state.autocast():
            with nullcontext() if keep else torch.no_grad():
                fake = G(G.sample_latent(n), fake_labels)
            step = DiscriminatorStep(state, _seen(state, real_input), real_input, batch.y,
                                     _seen(state, fake.detach()), fake_labels, i)
            d_losses = objective.discriminator_loss(step)
            for extension in state.extensions:
                _add_terms(d_losses, extension.discriminator_terms(step, d_losses))
        state.optimize(d_losses.loss, "discriminator")

    with frozen(D), state.autocast():
        if not objective.reuse_fakes:
            fake = G(G.sample_latent(n), fake_labels)
        g_step = GeneratorStep(state, _seen(state, fake), fake_labels, batch)
        g_losses = objective.generator_loss(g_step)
        for extension in state.extensions:
            _add_terms(g_losses, extension.generator_terms(g_step, g_losses))
    state.optimize(g_losses.loss, "generator")
    return _step_logs(d_losses, g_losses, objective.logits_are_probabilities)


def _step_logs(d_losses: Losses, g_losses: Losses, probabilities: bool) -> dict[str, Tensor]:
    out = {"loss_d": d_losses.loss.detach(), "loss_g": g_losses.loss.detach()}
    if probabilities and d_losses.real_logits is not None:
        out["d_real"] = torch.sigmoid(d_losses.real_logits.detach().float()).mean()
    if probabilities and d_losses.fake_logits is not None:
        out["d_fake"] = torch.sigmoid(d_losses.fake_logits.detach().float()).mean()
    return {**out, **d_losses.logs, **g_losses.logs}


LOSS_OBJECTIVE = Objective()
"""The default objective: the run's ``--loss`` on D's logits."""

"""RelGAN's training as two trainer phases, with the relativistic standard GAN loss (RSGAN).

1. ``pretrain-g``: maximum-likelihood training of G; one step is one epoch over the data (Adam ``lr_g``).
2. ``adversarial``: one step is ``d_steps`` D updates, then one G update (Adam ``lr_d`` and ``lr_g_adv``).
   Each update draws a fresh real batch and fresh Gumbel-softmax outputs of G at the step's inverse
   temperature beta (``beta_schedule`` from 1 to ``beta_max``). D sees real sequences as token ids and G's as
   relaxed one-hot vectors, and its losses pair real and generated logits per representation:
   D: BCE-with-logits(D(real) - D(fake), 1); G: BCE-with-logits(D(fake) - D(real), 1).

Every gradient is clipped to norm ``grad_clip`` (5, as the reference code). Every random draw uses torch's
global generator, which checkpoints keep, and a step never spans a checkpoint, so a resumed run continues
exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.plugin import Phase, RunConfig, TrainState, adam, frozen
from ganzoo_relgan.models import MultiRepDiscriminator, RelationalGenerator
from ganzoo_relgan.schedules import inverse_temperature, resolved_schedule


def rsgan_loss(first: Tensor, second: Tensor) -> Tensor:
    """BCE-with-logits(first - second, 1) = mean softplus(second - first), in fp32: D's loss with
    (real, fake), G's with (fake, real)."""
    return F.softplus(second.float() - first.float()).mean()


def mle_epoch(state: TrainState) -> dict[str, Tensor]:
    """One epoch of teacher-forced maximum likelihood (G stays in fp32)."""
    G: RelationalGenerator = state.generator  # type: ignore[assignment]
    batches = max(1, len(state.data) // state.batch_size)
    total = torch.zeros((), device=state.device)
    for _ in range(batches):
        loss = G.nll(state.next_batch().x)
        state.optimize(loss, "generator", clip_grad_norm=state.config["grad_clip"])
        total += loss.detach()
    return {"nll_train": total / batches}


def adversarial_step(state: TrainState, d_steps: int, beta: float) -> dict[str, Tensor]:
    """``d_steps`` RSGAN updates of D, then one of G, at inverse temperature ``beta``."""
    G: RelationalGenerator = state.generator  # type: ignore[assignment]
    D: MultiRepDiscriminator = state.discriminator  # type: ignore[assignment]
    clip = state.config["grad_clip"]
    d_loss = torch.zeros((), device=state.device)
    for _ in range(d_steps):
        real = state.next_batch().x
        with torch.no_grad():
            _, fake = G.relaxed_sample(len(real), beta)
        with state.autocast():
            d_loss = rsgan_loss(D.representation_logits(real), D.representation_logits(fake))
        state.optimize(d_loss, "discriminator", clip_grad_norm=clip)
    real = state.next_batch().x
    _, fake = G.relaxed_sample(len(real), beta)
    with frozen(D), state.autocast():
        g_loss = rsgan_loss(D.representation_logits(fake), D.representation_logits(real))
    state.optimize(g_loss, "generator_adv", clip_grad_norm=clip)
    return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(), "beta": torch.tensor(beta)}


def make_phases(config: RunConfig) -> list[Phase]:
    """MLE pre-training, then adversarial steps whose beta follows the schedule over the phase's own steps."""
    plan = resolved_schedule(config)
    begin, steps = plan["mle_epochs"], plan["steps"]

    def adversarial(state: TrainState) -> dict[str, Tensor]:
        beta = inverse_temperature(state.step - begin, steps, float(state.config["beta_max"]),
                                   state.config["beta_schedule"])
        return adversarial_step(state, plan["d_steps"], beta)

    return [Phase("pretrain-g", plan["mle_epochs"], mle_epoch), Phase("adversarial", steps, adversarial)]


def build_optimizers(state: TrainState) -> dict[str, torch.optim.Optimizer]:
    """Adam for MLE (``lr_g``), a separate Adam for adversarial G updates (``lr_g_adv``), as the reference
    code's two optimisers, and Adam for D (``lr_d``)."""
    G, D, cfg = state.generator, state.discriminator, state.config
    return {
        "generator": adam(state, G.parameters(), cfg["lr_g"]),
        "generator_adv": adam(state, G.parameters(), cfg["lr_g_adv"]),
        "discriminator": adam(state, D.parameters(), cfg["lr_d"]),
    }

"""SeqGAN's training schedule as three trainer phases.

1. ``pretrain-g``: maximum-likelihood training of G; one step is one epoch over the data.
2. ``pretrain-d``: one step is one round: fresh negatives from G, then ``d_epochs`` epochs of D
   over them and as many real sequences.
3. ``adversarial``: one step is one round: ``g_steps`` policy-gradient updates of G, whose
   per-token rewards are D's belief that Monte Carlo completions (by the rollout policy) are
   real; the rollout policy then follows G (``rollout_rate`` of its own weights kept); then
   ``d_steps`` times (fresh negatives, ``d_epochs`` epochs of D).

Every random draw uses torch's global generator, which checkpoints keep, and a step never
spans a checkpoint, so a resumed run continues exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import BuildContext, Discriminator, Generator, Phase, RunConfig, TrainState, unknown_name
from ganzoo_seqgan.models import CNNDiscriminator, LSTMGenerator

SCHEDULES: dict[str, dict[str, Any]] = {
    # Yu et al. 2017 and their reference code: 120 MLE epochs, 50 D pre-training rounds, 200
    # adversarial rounds of (1 G step; 5 x (10,000 new negatives, 3 epochs of D))
    "paper": {"mle_epochs": 120, "d_pretrain_rounds": 50, "d_negatives": 10_000, "d_epochs": 3,
              "steps": 200, "d_steps": 5},
    # fits 2 shared CPU cores: 5 to 20 minutes on the oracle, by load (docs/seqgan.md): 10 MLE
    # epochs, 12 adversarial rounds, and D sees 1,000 new negatives once per round
    "cpu": {"mle_epochs": 10, "d_pretrain_rounds": 5, "d_negatives": 1_000, "d_epochs": 1,
            "steps": 12, "d_steps": 1},
}
SCHEDULE_KEYS = ("mle_epochs", "d_pretrain_rounds", "d_negatives", "d_epochs", "steps", "d_steps")


def resolved_schedule(hparams: Mapping[str, Any]) -> dict[str, int]:
    """The schedule's numbers: the named preset's, overridden by any the user set."""
    name = hparams["schedule"]
    if name not in SCHEDULES:
        raise unknown_name("schedule", name, SCHEDULES)
    preset = SCHEDULES[name]
    return {key: int(hparams[key] if hparams.get(key) is not None else preset[key]) for key in SCHEDULE_KEYS}


def generator_of(state: TrainState) -> LSTMGenerator:
    return state.generator  # type: ignore[return-value]


def mle_epoch(state: TrainState) -> dict[str, Tensor]:
    """One epoch of teacher-forced maximum likelihood."""
    G = generator_of(state)
    batches = max(1, len(state.data) // state.batch_size)
    total = torch.zeros((), device=state.device)
    for _ in range(batches):
        loss = G.nll(state.next_batch().x)  # G stays in fp32: its cost is memory-bound, bf16 only loses precision
        state.optimize(loss, "generator", clip_grad_norm=state.config["grad_clip"])
        total += loss.detach()
    return {"nll_train": total / batches}


def mle_step(state: TrainState) -> dict[str, Tensor]:
    """One teacher-forced maximum-likelihood update on one batch: the ``mle`` baseline's whole training step."""
    loss = generator_of(state).nll(state.next_batch().x)
    state.optimize(loss, "generator", clip_grad_norm=state.config["grad_clip"])
    return {"nll_train": loss.detach()}


@torch.no_grad()
def negatives(G: Generator, n: int, batch_size: int = 1000) -> Tensor:
    """n fresh sequences from G (eval mode, no gradients)."""
    was_training = G.training
    G.eval()
    parts = [G.sample(min(batch_size, n - done)) for done in range(0, n, batch_size)]
    G.train(was_training)
    return torch.cat(parts)


def d_loss(D: Discriminator, real: Tensor, fake: Tensor, l2: float) -> tuple[Tensor, Tensor, Tensor]:
    """Cross-entropy of real-vs-generated plus ``l2`` * (|W|^2 + |b|^2) / 2 of D's output layer."""
    logits = D(torch.cat([real, fake]))
    targets = torch.cat([torch.ones(len(real), device=real.device), torch.zeros(len(fake), device=fake.device)])
    loss = F.binary_cross_entropy_with_logits(logits.float(), targets)
    out = D.output  # type: ignore[attr-defined]
    loss = loss + l2 * 0.5 * (out.weight.square().sum() + out.bias.square().sum())
    probs = torch.sigmoid(logits.detach().float())
    return loss, probs[: len(real)].mean(), probs[len(real):].mean()


def train_discriminator(state: TrainState, n_negatives: int, epochs: int) -> dict[str, Tensor]:
    """Fresh negatives from G, then ``epochs`` passes of D over them, each batch with as many real ones."""
    D = state.discriminator
    fake_all = negatives(state.generator, n_negatives)
    b = state.batch_size
    batches = max(1, n_negatives // b)
    sums = torch.zeros(3, device=state.device)
    for _ in range(epochs):
        order = torch.randperm(n_negatives, device=fake_all.device)
        for i in range(batches):
            fake = fake_all[order[i * b:(i + 1) * b]]
            real = state.next_batch().x
            with state.autocast():
                loss, d_real, d_fake = d_loss(D, real, fake, float(state.config["d_l2"]))
            state.optimize(loss, "discriminator")
            sums += torch.stack([loss.detach(), d_real, d_fake])
    mean = sums / (epochs * batches)
    return {"loss_d": mean[0], "d_real": mean[1], "d_fake": mean[2]}


@torch.no_grad()
def rollout_rewards(
    policy: LSTMGenerator, D: CNNDiscriminator, samples: Tensor, rollouts: int, autocast: Callable = nullcontext
) -> Tensor:
    """Per-token rewards (B, L): for t < L, D's mean probability that ``rollouts`` completions of
    the first t tokens (drawn from ``policy``) are real; for t = L, D's probability for the sample.
    D runs inside ``autocast()`` (the run's precision), on every completion and sample at once."""
    n, length = samples.shape
    was_training = (policy.training, D.training)
    policy.eval()
    D.eval()
    completed = policy.complete_prefixes(samples, rollouts).flatten(0, 1)
    with autocast():
        probs = torch.sigmoid(D.score(torch.cat([completed, samples])).float())
    rewards = torch.empty(n, length, device=samples.device)
    rewards[:, :-1] = probs[:-n].view(length - 1, n, rollouts).mean(dim=2).t()
    rewards[:, -1] = probs[-n:]
    policy.train(was_training[0])
    D.train(was_training[1])
    return rewards


def policy_gradient_loss(G: LSTMGenerator, samples: Tensor, rewards: Tensor) -> Tensor:
    """REINFORCE: -sum_t log G(y_t | y_<t) * Q(y_<t, y_t), averaged over chosen tokens."""
    free = G.free_positions(samples)
    return -(G.token_log_probs(samples) * rewards).sum() / free.sum().clamp(min=1)


def generator_step(state: TrainState) -> dict[str, Tensor]:
    """Sample a batch from G, reward it by rollouts, take one policy-gradient step."""
    G = generator_of(state)
    policy: LSTMGenerator = state.extras["rollout"]  # type: ignore[assignment]
    samples = negatives(G, state.batch_size, state.batch_size)
    D: CNNDiscriminator = state.discriminator  # type: ignore[assignment]
    constant = state.config["constant_reward"]
    if constant is None:
        rewards = rollout_rewards(policy, D, samples, int(state.config["rollouts"]), state.autocast)
    else:  # the control: the same policy-gradient steps without D's judgement
        rewards = torch.full(samples.shape, float(constant), device=samples.device)
    advantages = rewards - rewards.mean() if state.config["reward_baseline"] else rewards
    loss = policy_gradient_loss(G, samples, advantages)
    state.optimize(loss, "generator_pg", clip_grad_norm=state.config["grad_clip"])
    return {"loss_pg": loss.detach(), "reward": rewards[:, -1].mean()}


@torch.no_grad()
def follow(policy: nn.Module, G: nn.Module, keep: float) -> None:
    """policy <- keep * policy + (1 - keep) * G, parameter by parameter."""
    for p_policy, p_g in zip(policy.parameters(), G.parameters(), strict=True):
        p_policy.lerp_(p_g, 1.0 - keep)


def make_phases(hparams: RunConfig) -> list[Phase]:
    """The three phases with their lengths from the resolved schedule."""
    plan = resolved_schedule(hparams)
    adversarial_begin = plan["mle_epochs"] + plan["d_pretrain_rounds"]

    def pretrain_d(state: TrainState) -> dict[str, Tensor]:
        return train_discriminator(state, plan["d_negatives"], plan["d_epochs"])

    def adversarial(state: TrainState) -> dict[str, Tensor]:
        policy = state.extras["rollout"]
        if state.step == adversarial_begin:  # the rollout policy starts from the pre-trained G
            policy.load_state_dict(state.generator.state_dict())
        logs: dict[str, Tensor] = {}
        for _ in range(int(state.config["g_steps"])):
            logs = generator_step(state)
            follow(policy, state.generator, float(state.config["rollout_rate"]))
        for _ in range(plan["d_steps"]):
            logs.update(train_discriminator(state, plan["d_negatives"], plan["d_epochs"]))
        return logs

    return [
        Phase("pretrain-g", plan["mle_epochs"], mle_epoch),
        Phase("pretrain-d", plan["d_pretrain_rounds"], pretrain_d),
        Phase("adversarial", plan["steps"], adversarial),
    ]


def build_extras(ctx: BuildContext, G: Generator, D: Discriminator) -> dict[str, nn.Module]:
    """The rollout policy: a copy of G that follows it with a lag."""
    return {"rollout": copy.deepcopy(G)}


def build_optimizers(state: TrainState) -> dict[str, torch.optim.Optimizer]:
    """Adam for MLE, a separate Adam for policy gradient (as the reference code), Adam for D."""
    G, D, cfg = state.generator, state.discriminator, state.config
    return {
        "generator": torch.optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=tuple(cfg["betas"])),
        "generator_pg": torch.optim.Adam(G.parameters(), lr=cfg["lr_g"], betas=tuple(cfg["betas"])),
        "discriminator": torch.optim.Adam(D.parameters(), lr=cfg["lr_d"], betas=tuple(cfg["betas"])),
    }

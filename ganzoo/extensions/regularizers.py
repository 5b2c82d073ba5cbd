"""Regularisers of D: the R1 gradient penalty (Mescheder et al. 2018) and LeCam (Tseng et al. 2021)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from ganzoo.driver.state import DiscriminatorStep, Losses, TrainingExtension, TrainState
from ganzoo.errors import ConfigError


class R1(TrainingExtension):
    """gamma/2 x E[|grad_x D(x)|^2] on real images, added to D's loss.

    Lazy with ``every`` > 1 (StyleGAN2's lazy regularisation): only in the D steps of every
    ``every``-th generator step, scaled by ``every`` so its average strength stays the same. The
    gradient is taken with respect to the real images *before* any augmentation, through it.
    """

    name = "r1"

    def __init__(self, gamma: float, every: int = 1) -> None:
        self.gamma = gamma
        self.every = every

    def wants_real_grad(self, state: TrainState) -> bool:
        return state.step % self.every == 0

    def discriminator_terms(self, step: DiscriminatorStep, losses: Losses) -> Mapping[str, Tensor]:
        if not self.wants_real_grad(step.state) or losses.real_logits is None:
            return {}
        (grad,) = torch.autograd.grad(losses.real_logits.float().sum(), step.real_input, create_graph=True)
        penalty = grad.float().square().flatten(1).sum(1).mean()
        return {"r1": penalty * (self.gamma / 2 * self.every)}


class LeCam(TrainingExtension):
    """weight x (E[relu(D(x) - a_fake)^2] + E[relu(a_real - D(G(z)))^2]), with a_real and a_fake exponential
    moving averages (``decay``) of D's mean outputs on real and fake images: it keeps D's outputs near
    their recent anchors, which limits how far D can overfit a small training set."""

    name = "lecam"

    def __init__(self, weight: float, decay: float = 0.99) -> None:
        self.weight = weight
        self.decay = decay
        self.anchors = torch.zeros(2, dtype=torch.float64)  # a_real, a_fake

    def discriminator_terms(self, step: DiscriminatorStep, losses: Losses) -> Mapping[str, Tensor]:
        if losses.real_logits is None or losses.fake_logits is None:
            raise ConfigError("lecam needs an objective that returns D's outputs on real and fake images")
        real, fake = losses.real_logits.float(), losses.fake_logits.float()
        a_real, a_fake = (float(a) for a in self.anchors)
        term = torch.relu(real - a_fake).square().mean() + torch.relu(a_real - fake).square().mean()
        means = torch.stack([real.detach().mean(), fake.detach().mean()]).to("cpu", torch.float64)
        self.anchors = self.anchors * self.decay + means * (1 - self.decay)
        return {"lecam": term * self.weight}

    def state_dict(self) -> dict[str, Tensor]:
        return {"anchors": self.anchors.clone()}

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        self.anchors = tensors["anchors"].to(torch.float64).clone()

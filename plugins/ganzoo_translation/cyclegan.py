"""CycleGAN (Zhu et al. 2017): two ResNet generators (A -> B and B -> A) and two PatchGAN discriminators
learn a translation from unpaired images, held to it by cycle consistency (lambda 10) and identity
(0.5 lambda) losses, with the least-squares adversarial loss (``--loss``: any other works too), a
history pool of 50 generated images for each D, and a learning rate that decays linearly to zero over the second half of training.

The pool is a module and the schedulers' states go into the checkpoint, so a resumed run continues
exactly as an uninterrupted one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import (
    BuildContext,
    Discriminator,
    Generator,
    LossSpec,
    ModelSpec,
    Option,
    TrainState,
    adam,
    frozen,
)
from ganzoo_translation.nets import PatchDiscriminator, ResNetTranslator, init_normal
from ganzoo_translation.pix2pix import image_sizes

PAPER = "Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks (arXiv:1703.10593)"


class CycleGenerator(Generator):
    """Both translators: ``forward`` (and sampling) maps domain A to B; :meth:`inverse` gives B -> A."""

    def __init__(self, ctx: BuildContext) -> None:
        source, target = image_sizes(ctx)
        super().__init__(0, target, condition_shape=source)
        width, blocks = int(ctx["g_width"]), int(ctx["g_blocks"])
        self.ab = ResNetTranslator(source[0], target[0], width, blocks)
        self.ba = ResNetTranslator(target[0], source[0], width, blocks)
        init_normal(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("cyclegan translates images: pass the source images")
        return self.ab(labels)

    def inverse(self) -> Generator:
        """The B -> A translator, sharing these weights."""
        return _Inverse(self)


class _Inverse(Generator):
    def __init__(self, forward: CycleGenerator) -> None:
        super().__init__(0, forward.condition_shape, condition_shape=forward.output_shape)
        self.of = forward

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("cyclegan translates images: pass the source images")
        return self.of.ba(labels)

    def inverse(self) -> Generator:
        return self.of


class CycleDiscriminators(Discriminator):
    """D_B judges domain B (``forward``), D_A domain A (:meth:`judge_a`); one logit per patch each."""

    per_patch = True

    def __init__(self, ctx: BuildContext) -> None:
        super().__init__()
        source, target = image_sizes(ctx)
        width = int(ctx["d_width"])
        self.b = PatchDiscriminator(target[0], target[-1], width, norm="instance")
        self.a = PatchDiscriminator(source[0], source[-1], width, norm="instance")
        init_normal(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.b(x)

    def judge_a(self, x: Tensor) -> Tensor:
        return self.a(x)


class ImagePool(nn.Module):
    """Shrivastava et al. 2017's history of generated images: once full, each query returns, with probability
    one half, an older image in place of the new one (which takes its slot). Buffers, so checkpoints hold it."""

    def __init__(self, capacity: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.capacity = int(capacity)
        self.register_buffer("images", torch.zeros(self.capacity, *shape))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    def query(self, fakes: Tensor) -> Tensor:
        if self.capacity == 0:
            return fakes
        out = []
        for image in fakes.detach().float():
            filled = int(self.filled)
            if filled < self.capacity:
                self.images[filled] = image
                self.filled += 1
                out.append(image)
            elif float(torch.rand(())) < 0.5:
                slot = int(torch.randint(self.capacity, ()))
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out).to(fakes.dtype)


def build_extras(ctx: BuildContext, generator: Generator, discriminator: Discriminator | None) -> dict[str, nn.Module]:
    source, target = image_sizes(ctx)
    size = int(ctx["pool_size"])
    return {"pool_a": ImagePool(size, source), "pool_b": ImagePool(size, target)}


def least_squares_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """0.5 (E[(D(x) - 1)^2] + E[D(G(z))^2]): CycleGAN's discriminator loss (its D objective halved)."""
    return 0.5 * (real_logits.float().sub(1).square().mean() + fake_logits.float().square().mean())


def least_squares_g_loss(fake_logits: Tensor) -> Tensor:
    """E[(D(G(z)) - 1)^2]."""
    return fake_logits.float().sub(1).square().mean()


LEAST_SQUARES = LossSpec("least-squares", "least squares on D's raw scores (LSGAN with targets 0 and 1; "
                         "CycleGAN's loss)", least_squares_d_loss, least_squares_g_loss,
                         "Mao et al. 2017, Least Squares Generative Adversarial Networks (arXiv:1611.04076)")


def train_step(state: TrainState) -> dict[str, Tensor]:
    """One CycleGAN update: both generators against both discriminators, then both discriminators on pooled fakes."""
    G, D, config = state.generator, state.discriminator, state.config
    batch = state.next_batch()
    real_a, real_b = batch.condition, batch.x
    cycle_weight = float(config["cycle_weight"])
    identity_weight = float(config["identity_weight"]) * cycle_weight
    loss = state.loss
    with frozen(D), state.autocast():
        fake_b, fake_a = G.ab(real_a), G.ba(real_b)
        adversarial = loss.g_loss(D(fake_b)) + loss.g_loss(D.judge_a(fake_a))
        cycle = F.l1_loss(G.ba(fake_b).float(), real_a.float()) + F.l1_loss(G.ab(fake_a).float(), real_b.float())
        loss_g = adversarial + cycle_weight * cycle
        logs = {"loss_g_adv": adversarial.detach(), "cycle": cycle.detach()}
        if identity_weight > 0 and real_a.shape[1] == real_b.shape[1]:
            identity = F.l1_loss(G.ab(real_b).float(), real_b.float()) + F.l1_loss(G.ba(real_a).float(), real_a.float())
            loss_g = loss_g + identity_weight * identity
            logs["identity"] = identity.detach()
    state.optimize(loss_g, "generator")
    pooled_b, pooled_a = state.extras["pool_b"].query(fake_b), state.extras["pool_a"].query(fake_a)
    with state.autocast():
        real_logits_b, fake_logits_b = D(real_b), D(pooled_b)
        loss_d = loss.d_loss(real_logits_b, fake_logits_b) + loss.d_loss(D.judge_a(real_a), D.judge_a(pooled_a))
    state.optimize(loss_d, "discriminator")
    return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), **logs,
                    "d_real": real_logits_b.detach().float().mean(), "d_fake": fake_logits_b.detach().float().mean()}


def build_optimizers(state: TrainState) -> dict[str, torch.optim.Optimizer]:
    """One Adam for both generators, one for both discriminators (as the paper's code does)."""
    config = state.config
    return {"generator": adam(state, state.generator.parameters(), float(config["lr_g"])),
            "discriminator": adam(state, state.discriminator.parameters(), float(config["lr_d"]))}


class LinearDecay:
    """Learning-rate factor: 1 for the first half of training, then linearly down to 0 at the last step.

    A callable object with only numbers as state, so the scheduler's state is JSON (checkpoint metadata).
    """

    def __init__(self, steps: int) -> None:
        self.steps = int(steps)
        self.start = self.steps // 2

    def __call__(self, step: int) -> float:
        return 1.0 - max(0, step - self.start) / max(1, self.steps - self.start)


def build_schedulers(state: TrainState) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
    steps = int(state.config["steps"])
    return {name: torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(steps)) for name, opt in state.optimizers.items()}


SPEC = ModelSpec(
    "cyclegan", "unpaired image-to-image translation: two ResNet generators, two PatchGANs, least-squares loss, "
    "cycle and identity losses, a history pool", PAPER, "translation", CycleGenerator, CycleDiscriminators,
    options={
        "g_width": Option(16, "ResNet generator base width (the paper's 64)", 1, 1024),
        "g_blocks": Option(4, "residual blocks (the paper's 9 at 256 px, 6 at 128 px)", 0, 64),
        "d_width": Option(32, "PatchGAN base width (the paper's 64)", 1, 1024),
        "cycle_weight": Option(10.0, "weight of the cycle-consistency loss (lambda; the paper's 10)", 0, None),
        "identity_weight": Option(0.5, "weight of the identity loss, as a fraction of lambda (the paper's 0.5)", 0, None),
        "pool_size": Option(50, "generated images kept in each discriminator's history pool (the paper's 50)", 0, 10_000),
    },
    train_step=train_step,
    build_optimizers=build_optimizers,
    build_schedulers=build_schedulers,
    build_extras=build_extras,
    overrides={"dataset": "fonts", "data.pairing": "unpaired", "loss": "least-squares", "batch_size": 8,
               "steps": 1600, "betas": (0.5, 0.999)},
)

"""pix2pix (Isola et al. 2017): a U-Net translates the source, a PatchGAN judges (source, image) pairs, and
an L1 term (lambda 100) ties the output to the true target. Dropout is the only noise, as in the paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.plugin import (
    BuildContext,
    ConfigError,
    Discriminator,
    Generator,
    GeneratorStep,
    Losses,
    ModelSpec,
    Objective,
    Option,
)
from ganzoo_translation.nets import PatchDiscriminator, UNet, init_normal

PAPER = "Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks (arXiv:1611.07004)"


def image_sizes(ctx: BuildContext) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(source shape, target shape) of paired or unpaired translation data, checked square and equal in size."""
    extras = ctx.data.extras
    if "condition_shape" not in extras:
        raise ConfigError("this model translates images: train it on translation data (fonts, paired-folder, ...)")
    source, target = tuple(extras["condition_shape"]), tuple(ctx.data.shape)
    if source[1:] != target[1:] or source[1] != source[2]:
        raise ConfigError(f"source images {source[1:]} and targets {target[1:]} must be square and of one size")
    return source, target


class UNetTranslator(Generator):
    """(no latent, source image) -> translated image; ``latent_dim`` is 0, dropout is the noise."""

    def __init__(self, ctx: BuildContext) -> None:
        source, target = image_sizes(ctx)
        super().__init__(0, target, condition_shape=source)
        self.net = UNet(source[0], target[0], source[-1], int(ctx["g_width"]))
        init_normal(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("pix2pix translates images: pass the source images")
        return self.net(labels)


class PairDiscriminator(Discriminator):
    """PatchGAN on the source beside the image: one logit per patch, (B, P)."""

    per_patch = True

    def __init__(self, ctx: BuildContext) -> None:
        super().__init__()
        source, target = image_sizes(ctx)
        self.net = PatchDiscriminator(source[0] + target[0], source[-1], int(ctx["d_width"]), norm="batch")
        init_normal(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("pix2pix's discriminator judges (source, image) pairs: pass the source images")
        return self.net(torch.cat([labels, x], dim=1))


class Pix2PixObjective(Objective):
    """The run's adversarial loss on (source, image) pairs, and lambda * L1(G(source), target) for G."""

    def generator_loss(self, step: GeneratorStep) -> Losses:
        losses = super().generator_loss(step)
        l1 = F.l1_loss(step.fake.float(), step.batch.x.float())
        weight = float(step.state.config["l1_weight"])
        losses.loss = losses.loss + weight * l1
        losses.logs["l1"] = l1.detach()
        return losses


def check_paired(ctx: BuildContext) -> None:
    if not ctx.data.extras.get("paired", False):
        raise ConfigError("pix2pix learns from (source, target) pairs; this data is unpaired (use cyclegan, or "
                          "data.pairing=paired)")


def build_generator(ctx: BuildContext) -> Generator:
    check_paired(ctx)
    return UNetTranslator(ctx)


SPEC = ModelSpec(
    "pix2pix", "paired image-to-image translation: U-Net generator, PatchGAN on (source, image) pairs, "
    "adversarial + L1 loss", PAPER, "translation", build_generator, PairDiscriminator,
    options={
        "g_width": Option(32, "U-Net base width (the paper's 64)", 1, 1024),
        "d_width": Option(32, "PatchGAN base width (the paper's 64)", 1, 1024),
        "l1_weight": Option(100.0, "weight of the L1 term (lambda; the paper's 100)", 0, None),
    },
    objective=Pix2PixObjective(),
    overrides={"dataset": "fonts", "batch_size": 16, "steps": 3000, "betas": (0.5, 0.999)},
)

"""AC-GAN's objective on the shared k-step driver: the run's adversarial loss plus the class cross-entropy."""

from __future__ import annotations

from torch import Tensor

from ganzoo.plugin import DiscriminatorStep, GeneratorStep, Losses, Objective
from ganzoo_acgan.losses import discriminator_loss, generator_loss


def accuracy(class_logits: Tensor, labels: Tensor) -> Tensor:
    return (class_logits.detach().argmax(dim=1) == labels).float().mean()


class ACGANObjective(Objective):
    """D tells real from fake and classifies; G fools the source head and makes samples of their label.

    Logs both players' losses, D(x), D(G(z)) and the classifier's accuracy on real and fake samples.
    """

    def discriminator_loss(self, step: DiscriminatorStep) -> Losses:
        state = step.state
        D = state.discriminator
        real_source, real_classes = D.score(step.real)
        fake_source, fake_classes = D.score(step.fake)
        loss = discriminator_loss(state.loss, real_source, fake_source, real_classes, step.real_labels, fake_classes,
                                  step.fake_labels, float(state.config["class_weight"]),
                                  bool(state.config["classify_fakes"]))
        return Losses(loss, real_source, fake_source, {"acc_real": accuracy(real_classes, step.real_labels)})

    def generator_loss(self, step: GeneratorStep) -> Losses:
        state = step.state
        source, classes = state.discriminator.score(step.fake)
        loss = generator_loss(state.loss, source, classes, step.fake_labels, float(state.config["class_weight"]))
        return Losses(loss, fake_logits=source, logs={"acc_fake": accuracy(classes, step.fake_labels)})

"""AC-GAN's objectives as pure functions (Odena et al. 2017, section 3).

With L_S the source (real/fake) log-likelihood and L_C the class log-likelihood of real and
fake samples, D maximises L_S + L_C and G maximises L_C - L_S. Written as losses to minimise:
D: adversarial D loss + w * (CE(real classes) + CE(fake classes));
G: adversarial G loss + w * CE(fake classes). The adversarial part is the run's ``--loss``.
``classify_fakes=False`` drops CE(fake classes) from D's loss, so D's classifier learns class
meanings from real images only (ganzoo's default; see docs/conditional.md for why).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.plugin import LossSpec


def class_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy of the auxiliary classifier: -E[log P(C = c | X)]."""
    return F.cross_entropy(class_logits.float(), labels)


def discriminator_loss(adversarial: LossSpec, real_source: Tensor, fake_source: Tensor, real_classes: Tensor,
                       real_labels: Tensor, fake_classes: Tensor, fake_labels: Tensor, class_weight: float,
                       classify_fakes: bool) -> Tensor:
    """D's loss: tell real from fake, and classify real samples (and generated ones with ``classify_fakes``)."""
    classes = class_loss(real_classes, real_labels)
    if classify_fakes:
        classes = classes + class_loss(fake_classes, fake_labels)
    return adversarial.d_loss(real_source, fake_source) + class_weight * classes


def generator_loss(adversarial: LossSpec, fake_source: Tensor, fake_classes: Tensor, fake_labels: Tensor,
                   class_weight: float) -> Tensor:
    """G's loss: fool the source head, and make samples the classifier assigns to their label."""
    return adversarial.g_loss(fake_source) + class_weight * class_loss(fake_classes, fake_labels)

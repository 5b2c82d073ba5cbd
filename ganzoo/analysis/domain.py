"""The dataset's domain classifier (`ganzoo-<dataset>`) as a feature space and a judge of classes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.data.base import DataInfo
from ganzoo.errors import ConfigError
from ganzoo.metrics.extractors import (
    DOMAIN_PREFIX,
    DomainCNN,
    check_fitted_on,
    domain_weights,
    domain_weights_path,
    extractor_name,
)

NONE = "none"
AUTO = "auto"


@dataclass
class DomainModel:
    """A fitted domain classifier, fed images the way ``ganzoo eval`` feeds it."""

    name: str
    network: DomainCNN
    channels: int
    size: int
    num_classes: int

    def _prepare(self, images: Tensor) -> Tensor:
        x = images.float()
        if self.channels == 1 and x.shape[1] != 1:
            x = x.mean(dim=1, keepdim=True)
        elif self.channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if tuple(x.shape[-2:]) != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        return x

    @torch.no_grad()
    def __call__(self, images: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
        """Images in [-1, 1] -> (pooled features, class probabilities), on the CPU."""
        device = next(self.network.parameters()).device
        features, probabilities = [], []
        for begin in range(0, len(images), batch_size):
            pooled, logits = self.network(self._prepare(images[begin : begin + batch_size].to(device)))
            features.append(pooled.float().cpu())
            probabilities.append(logits.float().softmax(dim=1).cpu())
        return torch.cat(features), torch.cat(probabilities)


def domain_model(choice: str, dataset: str, info: DataInfo, device: torch.device | str = "cpu") -> DomainModel | None:
    """``auto``: the dataset's own `ganzoo-<dataset>` when fitted here, else None; ``none``: None;
    a `ganzoo-...` name: that classifier (an error when it is missing, fitted on other data or cannot read these images)."""
    if choice == NONE:
        return None
    if info.modality != "image":
        raise ConfigError(f"a domain classifier reads images; this run's data is {info.modality}")
    identity = info.extras.get("identity")
    if choice == AUTO:
        choice = extractor_name(dataset, identity)
        if domain_weights_path(choice) is None:
            return None
    elif not choice.startswith(DOMAIN_PREFIX):
        raise ConfigError(f"feature extractor must be auto, none or a {DOMAIN_PREFIX}<dataset> classifier, got {choice!r}")
    weights = domain_weights(choice)
    check_fitted_on(weights, dataset, identity)
    if info.shape[0] not in (1, 3) or weights.channels not in (1, 3):
        raise ConfigError(f"{choice} reads {weights.channels}-channel images; this run makes {info.shape[0]}-channel ones")
    network = weights.build().to(device)
    return DomainModel(choice, network, weights.channels, weights.image_size, weights.num_classes)

"""The VAE's networks: a convolutional encoder q(z|x) and decoder p(x|z) for square images of 8, 32 or 64 pixels.

The encoder halves the image with stride-2 convolutions down to 4x4, then maps it to the mean and
log-variance of a diagonal Gaussian posterior. The decoder mirrors it and ends in one softmax per pixel
and channel over the data's grey levels: a categorical distribution over the values the data can take
(17 for the native digits, 256 for 8-bit images), so the ELBO is a bound on a true discrete likelihood.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.plugin import Generator, doubling_stages


def encoder(channels: int, size: int, width: int, latent_dim: int) -> nn.Sequential:
    """x (B, C, S, S) -> (B, 2 * latent_dim): the posterior's mean and log-variance."""
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.SiLU()]
    features = width
    for _ in range(doubling_stages(size, "vae")):
        layers += [nn.Conv2d(features, features * 2, 4, stride=2, padding=1), nn.SiLU()]
        features *= 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features * 16, 2 * latent_dim))


class Decoder(nn.Module):
    """z (B, latent_dim) -> logits (B, levels, C, S, S) of each pixel's grey level."""

    def __init__(self, channels: int, size: int, width: int, latent_dim: int, levels: int) -> None:
        super().__init__()
        stages = doubling_stages(size, "vae")
        self.top = width * 2**stages
        self.channels, self.levels = channels, levels
        self.project = nn.Sequential(nn.Linear(latent_dim, self.top * 16), nn.SiLU())
        layers: list[nn.Module] = []
        features = self.top
        for _ in range(stages):
            layers += [nn.ConvTranspose2d(features, features // 2, 4, stride=2, padding=1), nn.SiLU()]
            features //= 2
        self.body = nn.Sequential(*layers, nn.Conv2d(features, channels * levels, 3, padding=1))

    def forward(self, z: Tensor) -> Tensor:
        h = self.body(self.project(z).view(len(z), self.top, 4, 4))
        return h.view(len(z), self.levels, self.channels, *h.shape[-2:])


class VAE(Generator):
    """Kingma & Welling's VAE as a ganzoo Generator: ``forward(z)`` decodes a latent drawn from the prior.

    A sample is the decoder's expected image E[x | z] (the mean of each pixel's categorical), as
    VAE papers show samples; :meth:`bits_per_dim` is the negative ELBO per dimension in bits, an upper
    bound on the negative log-likelihood.
    """

    likelihood = "bound"

    def __init__(self, channels: int, size: int, width: int, latent_dim: int, levels: int) -> None:
        super().__init__(latent_dim, (channels, size, size))
        self.levels = levels
        self.encode = encoder(channels, size, width, latent_dim)
        self.decode = Decoder(channels, size, width, latent_dim, levels)
        self.register_buffer("values", torch.linspace(-1.0, 1.0, levels), persistent=False)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        probabilities = self.decode(z).float().softmax(dim=1)
        return torch.einsum("blchw,l->bchw", probabilities, self.values)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z | x)."""
        mean, log_var = self.encode(x).float().chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def terms(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Per example: the reconstruction's negative log-likelihood and KL(q(z|x) || N(0, I)), both in nats.

        z is drawn by the reparameterisation z = mean + sigma * eps, so gradients reach the encoder.
        """
        mean, log_var = self.posterior(x)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device) if generator is not None \
            else torch.randn_like(mean)
        z = mean + (0.5 * log_var).exp() * eps
        logits = self.decode(z).float()
        targets = level_indices(x, self.levels)
        nll = nn.functional.cross_entropy(logits, targets, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(1)
        return nll, kl

    def bits_per_dim(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        nll, kl = self.terms(x, generator)
        return (nll + kl) / (math.prod(x.shape[1:]) * math.log(2.0))


def level_indices(x: Tensor, levels: int) -> Tensor:
    """Values in [-1, 1] -> integer grey levels 0..levels-1 (B, C, H, W), the classes of the decoder's softmax."""
    return x.float().add(1.0).mul((levels - 1) / 2.0).round().clamp(0, levels - 1).long()

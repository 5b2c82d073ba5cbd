"""The network contracts: a Generator maps latents (and a condition) to samples, a Discriminator
maps samples (and their condition) to one raw logit each. The trainer, the samplers, the metrics
and ``ganzoo check`` rely on what these declare."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ganzoo.errors import ConfigError


class Generator(nn.Module):
    """A generator: latent z and an optional condition y -> samples.

    A likelihood model (a VAE, PixelCNN) is a Generator too: it sets :attr:`likelihood` and
    implements :meth:`bits_per_dim`, which the ``bits_per_dim`` metric reads on held-out data.

    The condition is what the sample is asked to be: class labels (B,) for a class-conditional
    generator (``num_classes > 0``), or source images for an image-conditioned one
    (``condition_shape`` set: pix2pix-like translation). Subclasses call
    ``super().__init__(latent_dim, output_shape, num_classes, condition_shape)`` and implement
    :meth:`forward`. Variants whose sampling is not a single forward pass (autoregressive text,
    say) override :meth:`sample` instead.

    A generator that draws tokens from a softmax sets :attr:`supports_temperature` and takes a keyword
    ``temperature`` in its :meth:`sample`: logits are divided by it before the softmax. Every other
    generator keeps the three-argument :meth:`sample`; callers reach both through
    :func:`temperature_keywords`, which refuses a temperature other than 1 for a model without one.
    """

    likelihood: str | None = None
    """'exact' (an exact log-likelihood: PixelCNN), 'bound' (an upper bound on the negative log-likelihood: a
    VAE's ELBO) or None (an implicit model, a GAN: no density to score)."""
    supports_temperature: bool = False
    """True when :meth:`sample` takes ``temperature`` (a float > 0; 1 is the model's own distribution, lower is
    sharper, higher flatter): generators that sample tokens."""

    def __init__(self, latent_dim: int, output_shape: tuple[int, ...], num_classes: int = 0,
                 condition_shape: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.output_shape = tuple(int(s) for s in output_shape)
        self.num_classes = int(num_classes)
        self.condition_shape = tuple(int(s) for s in condition_shape) if condition_shape is not None else None

    @property
    def image_conditioned(self) -> bool:
        """True when each sample is made from a given image (the condition cannot be drawn at random)."""
        return self.condition_shape is not None

    def inverse(self) -> Generator | None:
        """For a translator that learns both directions (CycleGAN): the generator of the other one (B -> A).
        None for every other generator."""
        return None

    @property
    def device(self) -> torch.device:
        """The device of the first parameter (CPU for a parameter-free module)."""
        for p in self.parameters():
            return p.device
        return torch.device("cpu")

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

    def bits_per_dim(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Negative log2-likelihood of each example of ``x`` (as the training batches serve it) per dimension,
        (B,); an upper bound of it where :attr:`likelihood` is 'bound'. ``generator`` seeds any noise (a VAE's z)."""
        raise NotImplementedError(f"{type(self).__name__} is an implicit model: it has no likelihood")

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw n latent vectors from the prior N(0, I)."""
        if generator is not None and generator.device != self.device:
            z = torch.randn(n, self.latent_dim, generator=generator, device=generator.device)
            return z.to(self.device)
        return torch.randn(n, self.latent_dim, generator=generator, device=self.device)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniform class labels for a conditional generator, None for an unconditional one."""
        if self.num_classes <= 0:
            return None
        gen_device = generator.device if generator is not None else self.device
        labels = torch.randint(self.num_classes, (n,), generator=generator, device=gen_device)
        return labels.to(self.device)

    def sample(
        self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Generate n samples; ``labels`` is the condition (class labels, or source images for an
        image-conditioned generator). Class labels are drawn uniformly when none are given."""
        if labels is None:
            if self.image_conditioned:
                raise ValueError("this generator translates images: pass the source images as labels")
            labels = self.sample_labels(n, generator)
        return self(self.sample_latent(n, generator), labels)


def check_temperature(temperature: float) -> float:
    """A sampling temperature as a float: it must be finite and > 0 (0 would be argmax, which no softmax gives)."""
    if (isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature)
            or temperature <= 0):
        shown = f"{temperature:g}" if isinstance(temperature, (int, float)) else repr(temperature)
        raise ConfigError(f"temperature must be a finite number > 0, got {shown}")
    return float(temperature)


MADE = {"image": "images", "translation": "images from images", "points": "points"}
"""What a model of each modality makes, for the error that refuses it a temperature."""


def temperature_keywords(generator: Generator, temperature: float, modality: str) -> dict[str, float]:
    """The keywords that ask ``generator.sample`` for ``temperature`` (checked): ``{"temperature": t}`` for a
    generator that supports one, nothing at 1 for any other (whose ``sample`` takes no such keyword), which
    refuses every other temperature. ``modality`` (of the run's data) names what the model makes in that error."""
    temperature = check_temperature(temperature)
    if generator.supports_temperature:
        return {"temperature": temperature}
    if temperature != 1.0:
        raise ConfigError(f"temperature applies to models that sample tokens; this model makes "
                          f"{MADE.get(modality, modality + ' data')}")
    return {}


class Discriminator(nn.Module):
    """A discriminator: samples (and their optional condition: labels or source images) -> raw logits (B,),
    or (B, P) for one that judges P patches of each image (a PatchGAN, which sets ``per_patch``); losses average
    over all of them."""

    per_patch: bool = False
    """True when ``forward`` gives one logit per patch, (B, P), instead of one per sample."""

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:  # pragma: no cover
        raise NotImplementedError

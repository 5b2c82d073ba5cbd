"""Likelihood scores: a model's bits per dimension on held-out data, and the Parzen-window estimate for any model.

``bits_per_dim`` reads the model's own density (``Generator.bits_per_dim``): exact for an
autoregressive model, an upper bound (the negative ELBO) for a VAE; the two go to two columns,
``bits_per_dim`` and ``bits_per_dim_bound``, under one protocol. It is computed on the run's own
data (the native 8x8 digits, not their upsampled view) and needs a model with a density.

``parzen`` is the estimate of Goodfellow et al. 2014 (after Breuleux et al. 2011): Gaussian kernels
centred on generated samples, the bandwidth chosen on a seeded validation subset of the training
images, the mean log-likelihood (nats) of held-out images. Theis et al. 2016 showed how it misleads
(a model that copies its training images scores well; it is poor even in 784 dimensions): it is here
to show that, not to rank models by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec, generated_samples
from ganzoo.metrics.fidelity import all_images
from ganzoo.metrics.protocol import check_bandwidth

PARZEN_SIGMAS = tuple(float(s) for s in torch.logspace(math.log10(0.02), 0.0, 18).tolist())
"""Bandwidths tried on the validation images (pixel values in [0, 1])."""
PARZEN_VALIDATION_FRACTION = 0.2
PARZEN_VALIDATION_SEED = 0
PARZEN_CHUNK = 64


def heldout_split(ctx: EvalContext) -> str:
    """The dataset's held-out split (its test images), refused for data without one."""
    name = str(ctx.config["dataset"])
    split = ctx.registry.dataset(name).heldout_split if ctx.registry is not None else "test"
    if split is None:
        raise ConfigError(f"dataset {name!r} has no held-out split, so there are no held-out images to score a "
                          "likelihood on")
    return split


def bits_per_dim(ctx: EvalContext) -> MetricResult:
    """Mean bits per dimension of the model on every held-out image of its own data."""
    own = ctx.own
    model = own.generator
    split = heldout_split(own)
    data = own.real_data(split)
    noise = torch.Generator(device=model.device).manual_seed(int(ctx.seed))
    total, count = 0.0, 0
    for batch in data.iterate(ctx.batch_size, device=model.device):
        total += float(model.bits_per_dim(batch.x.float(), generator=noise).double().sum())
        count += len(batch.x)
    key = "bits_per_dim" if model.likelihood == "exact" else "bits_per_dim_bound"
    protocol = {"reference": f"{own.config['dataset']}:{split}", "num_images": count, "shape": list(own.data_info.shape),
                "levels": int(own.data_info.extras.get("levels", 256))}
    return MetricResult({key: total / max(count, 1)}, protocol)


def parzen_log_likelihood(samples: Tensor, images: Tensor, sigma: float) -> Tensor:
    """log p(x) of each image under an equal mixture of Gaussians N(sample, sigma^2 I), in nats (flat inputs)."""
    samples, images = samples.double(), images.double()
    dims = samples.shape[1]
    out = []
    for begin in range(0, len(images), PARZEN_CHUNK):
        distances = torch.cdist(images[begin:begin + PARZEN_CHUNK], samples).square()
        out.append(torch.logsumexp(-distances / (2 * sigma**2), dim=1))
    return torch.cat(out) - math.log(len(samples)) - dims / 2 * math.log(2 * math.pi * sigma**2)


def choose_bandwidth(samples: Tensor, validation: Tensor, sigmas: Sequence[float] = PARZEN_SIGMAS) -> float:
    """The bandwidth of the grid under which the validation images are most likely."""
    scores = [float(parzen_log_likelihood(samples, validation, s).mean()) for s in sigmas]
    return sigmas[max(range(len(sigmas)), key=scores.__getitem__)]


def validation_images(train: Tensor) -> Tensor:
    """The seeded validation subset of the training images that chooses the bandwidth."""
    gen = torch.Generator().manual_seed(PARZEN_VALIDATION_SEED)
    order = torch.randperm(len(train), generator=gen)
    return train[order[: max(1, round(PARZEN_VALIDATION_FRACTION * len(train)))]]


def flat_unit(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> flat rows in [0, 1], the space the kernels live in."""
    return images.float().add(1).div(2).clamp(0, 1).flatten(1)


def parzen_scores(samples: Tensor, train: Tensor, heldout: Tensor, bandwidth: float | None) -> dict[str, float]:
    """The Parzen estimate of held-out images: mean and standard error (nats), and the bandwidth used."""
    samples, heldout = flat_unit(samples), flat_unit(heldout)
    sigma = bandwidth if bandwidth is not None else choose_bandwidth(samples, flat_unit(validation_images(train)))
    values = parzen_log_likelihood(samples, heldout, sigma)
    return {"parzen": float(values.mean()), "parzen_se": float(values.std() / math.sqrt(len(values))),
            "parzen_sigma": float(sigma)}


def parzen(ctx: EvalContext) -> MetricResult:
    bandwidth = ctx.options.get("parzen_bandwidth")
    check_bandwidth(bandwidth)
    split = heldout_split(ctx)
    train_split = ctx.config.get("split", "train")
    scores = parzen_scores(generated_samples(ctx), all_images(ctx.real_data(train_split)),
                           all_images(ctx.real_data(split)), bandwidth)
    protocol: dict[str, Any] = {
        "num_generated": ctx.num_samples, "reference": f"{ctx.config['dataset']}:{split}",
        "image_size": list(ctx.data_info.shape), "pixels": "[0, 1]",
        "bandwidth": bandwidth if bandwidth is not None else
        f"chosen among {len(PARZEN_SIGMAS)} in [{PARZEN_SIGMAS[0]:g}, {PARZEN_SIGMAS[-1]:g}] on "
        f"{PARZEN_VALIDATION_FRACTION:g} of {ctx.config['dataset']}:{train_split} (seed {PARZEN_VALIDATION_SEED})",
    }
    return MetricResult(scores, protocol)


LIKELIHOOD_SPECS = [
    MetricSpec("bits_per_dim", "negative log2-likelihood per dimension of held-out images (exact, or the ELBO's bound)",
               ("image",), bits_per_dim, {"bits_per_dim": "lower", "bits_per_dim_bound": "lower"},
               needs_likelihood=True),
    MetricSpec("parzen", "Parzen-window log-likelihood estimate of held-out images (nats; misleading, Theis et al. 2016)",
               ("image",), parzen, {"parzen": "higher"}, default=False),
]

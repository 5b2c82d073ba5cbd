"""ganzoo plugin: the variational autoencoder of Kingma & Welling 2014, a likelihood baseline with no discriminator.

It trains by maximising the ELBO (its own step; the shared k-step driver is not used), samples by
decoding z drawn from the prior, and reports the negative ELBO in bits per dimension: an upper
bound on the negative log-likelihood, beside PixelCNN's exact one. By default it trains on the
native 8x8 digits with their 17 grey levels (``data.native``); see docs/why-gans.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import Tensor

from ganzoo.plugin import BuildContext, ModelSpec, Option, TrainState, hookimpl, square_image_shape
from ganzoo_vae.nets import VAE

SIZES = (8, 32, 64)
EIGHT_BIT = 256
"""Grey levels of data that declares none: 8-bit images, as image scores quantise every image."""


def build_generator(ctx: BuildContext) -> VAE:
    channels, size = square_image_shape(ctx.data, "vae", sizes=SIZES)
    levels = int(ctx.data.extras.get("levels", EIGHT_BIT))
    return VAE(channels, size, ctx["width"], ctx["latent_dim"], levels)


def kl_weight(step: int, warmup: int) -> float:
    """The KL term's weight: rising linearly from 0 to 1 over ``warmup`` steps (1 throughout when 0)."""
    return 1.0 if warmup <= 0 else min(1.0, step / warmup)


def train_step(state: TrainState) -> dict[str, Tensor]:
    """One ELBO step: reconstruction NLL plus (warmed-up) KL, per dimension in bits."""
    G: VAE = state.generator
    x = state.next_batch().x
    dims_bits = math.prod(x.shape[1:]) * math.log(2.0)
    with state.autocast():
        nll, kl = G.terms(x)
    beta = kl_weight(state.step, int(state.config["kl_warmup"]))
    loss = (nll + beta * kl).mean() / dims_bits
    state.optimize(loss, "generator")
    return {"loss": loss.detach(), "bits_per_dim": ((nll + kl).mean() / dims_bits).detach(),
            "kl_bits_per_dim": (kl.mean() / dims_bits).detach()}


SPEC = ModelSpec(
    name="vae",
    description="VAE: conv encoder and decoder, Gaussian posterior, categorical likelihood over the data's grey levels",
    paper="Kingma & Welling 2014, Auto-Encoding Variational Bayes (arXiv:1312.6114, ICLR 2014)",
    modality="image",
    build_generator=build_generator,
    train_step=train_step,
    options={
        "latent_dim": Option(16, "size of z (the Gaussian posterior's dimension)", 1, 4096),
        "width": Option(32, "channels of the first encoder layer (doubling with each halving; the decoder mirrors it)",
                        1, 1024),
        "kl_warmup": Option(0, "steps over which the KL term's weight rises from 0 to 1 (0: no warm-up)", 0, 10**9),
    },
    overrides={"data.native": True, "steps": 6000, "batch_size": 64, "lr_g": 1e-3, "betas": (0.9, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

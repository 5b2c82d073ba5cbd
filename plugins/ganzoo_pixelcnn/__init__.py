"""ganzoo plugin: Gated PixelCNN (van den Oord et al. 2016), an autoregressive model with an exact likelihood.

No discriminator: the model's own step minimises the exact negative log-likelihood, a categorical
cross-entropy over the data's grey levels per pixel and channel (17 for the native 8x8 digits, the
default data; 256 for uint8 datasets). See :mod:`ganzoo_pixelcnn.nets` for the masks and the sampler,
and docs/pixelcnn.md for measured times and bits/dim.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from ganzoo.plugin import BuildContext, ConfigError, ModelSpec, Option, TrainState, hookimpl
from ganzoo_pixelcnn.nets import LN2, PixelCNN

DEFAULT_LEVELS = 256
"""Grey levels of data whose DataInfo does not declare ``levels``: uint8 images served as floats in [-1, 1]."""


def build_generator(ctx: BuildContext) -> PixelCNN:
    """The PixelCNN for the run's image shape and the data's grey levels."""
    if ctx.data.modality != "image" or len(ctx.data.shape) != 3:
        raise ConfigError(f"pixelcnn models images (C, H, W), not {ctx.data.modality} data of shape {tuple(ctx.data.shape)}")
    levels = int(ctx.data.extras.get("levels", DEFAULT_LEVELS))
    return PixelCNN(tuple(ctx.data.shape), levels, ctx["width"], ctx["layers"], ctx["kernel"])


def train_step(state: TrainState) -> dict[str, Tensor]:
    """One Adam step on the mean exact NLL per dimension (nats) of a training batch; logs it and bits/dim.

    The network runs at the run's precision (bf16 autocast on CPUs with bf16 units), the softmax over
    levels in float32; ``bits_per_dim``, which scores runs, is computed in float32 throughout.
    """
    G = state.generator
    x = state.next_batch().x
    with state.autocast():
        loss = -G.log_prob(x).mean() / G.latent_dim
    state.optimize(loss, "generator")
    loss = loss.detach()
    return {"loss": loss, "bits_per_dim": loss / LN2}


SPEC = ModelSpec(
    name="pixelcnn",
    description="Gated PixelCNN: masked vertical + horizontal stacks, gated units, exact NLL over the data's grey levels",
    paper="van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016, Conditional Image Generation "
          "with PixelCNN Decoders (arXiv:1606.05328, NeurIPS 2016); the unconditional gated PixelCNN",
    modality="image",
    build_generator=build_generator,
    build_discriminator=None,
    train_step=train_step,
    options={
        "width": Option(32, "channels of each gated layer (the paper: 128 and more)", 1, 1024),
        "layers": Option(6, "gated layers (the first with mask A, the rest mask B; the paper: 15)", 1, 64),
        "kernel": Option(3, "kernel size k of the k x k masked convolutions (odd)", 3, 15),
    },
    overrides={"data.native": True, "steps": 2000, "batch_size": 64, "lr_g": 1e-3, "betas": (0.9, 0.999)},
)


@hookimpl
def register_models(register: Callable) -> None:
    register(SPEC)

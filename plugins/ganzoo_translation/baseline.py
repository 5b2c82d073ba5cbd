"""``identity``: the translation baseline every model must beat, output = input.

On fonts the identity already scores SSIM 0.8 or so against the target glyphs (two fonts of one
character look alike); a translation model is only worth something by what it adds to that.
It has no parameters and trains for no steps: its run exists so it is scored under the same
protocol, in the same leaderboard table, as the models.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.plugin import BuildContext, ConfigError, Generator, ModelSpec, TrainState


class IdentityTranslator(Generator):
    """Returns the source image itself (targets and sources must have the same shape)."""

    def __init__(self, ctx: BuildContext) -> None:
        source, target = tuple(ctx.data.extras.get("condition_shape", ())), tuple(ctx.data.shape)
        if source != target:
            raise ConfigError(f"identity needs sources shaped like the targets; got {source} and {target}")
        super().__init__(0, target, condition_shape=source)
        self.register_buffer("unused", torch.zeros(()))  # a checkpoint needs one tensor

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        if labels is None:
            raise ValueError("identity translates images: pass the source images")
        return labels.clone()


def no_training(state: TrainState) -> dict[str, Tensor]:
    """Nothing to learn; one batch is drawn so the run's data is checked like any other run's."""
    state.next_batch()
    return {}


def no_optimizers(state: TrainState) -> dict[str, torch.optim.Optimizer]:
    return {}


SPEC = ModelSpec(
    "identity", "translation baseline: the output is the input (what every translation model must beat)", "",
    "translation", IdentityTranslator, train_step=no_training, build_optimizers=no_optimizers,
    overrides={"dataset": "fonts", "steps": 1, "batch_size": 1},
)

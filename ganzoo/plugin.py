"""The plugin API: everything a ganzoo plugin may use, from this one module.

Built-in plugins import nothing else from ganzoo, and neither should a third party's; names
here are the stable API. A minimal variant::

    from ganzoo.plugin import DCGANDiscriminator, DCGANGenerator, ModelSpec, hookimpl, square_image_shape

    def build_generator(ctx):
        channels, size = square_image_shape(ctx.data, "tiny")
        return DCGANGenerator(ctx["latent_dim"], channels, size, ctx["g_width"])
    ...
    @hookimpl
    def register_models(register):
        register(ModelSpec("tiny", "...", "...", "image", build_generator, build_discriminator,
                           options={"latent_dim": 64, "g_width": 16, "d_width": 16}))
"""

from __future__ import annotations

from ganzoo.benchmarking.execution import WORKER_PRELOAD, BenchTask, ExecutorContext, collect_outcome, run_bench_task
from ganzoo.config import Option, RunConfig
from ganzoo.data.base import Batch, DataInfo, DataRequest, LoadedData, StreamData, TensorData, UnpairedData
from ganzoo.driver.kstep import LOSS_OBJECTIVE, Objective, frozen, k_step
from ganzoo.driver.state import DiscriminatorStep, GeneratorStep, Losses, TrainingExtension, TrainState
from ganzoo.errors import ConfigError, DataError, GanzooError, unknown_name
from ganzoo.hookspecs import hookimpl
from ganzoo.losses import LossSpec
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec
from ganzoo.nets.base import Discriminator, Generator, check_temperature, temperature_keywords
from ganzoo.nets.dcgan import (
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    discriminator_trunk,
    init_weights,
)
from ganzoo.nets.layers import ConditionalBatchNorm2d, Maxout, layer_norm, spectral_norm
from ganzoo.nets.shapes import doubling_stages, square_image_shape
from ganzoo.render import decode_tokens
from ganzoo.spec import BuildContext, DatasetSpec, ExecutorSpec, ExtensionSpec, ModelSpec, Phase
from ganzoo.trainer.setup import adam

__all__ = [
    "LOSS_OBJECTIVE", "Batch", "BenchTask", "BuildContext", "ConditionalBatchNorm2d", "ConditionalDCGANGenerator",
    "ConfigError", "DCGANDiscriminator", "DCGANGenerator", "DataError", "DataInfo", "DataRequest", "DatasetSpec",
    "Discriminator", "DiscriminatorStep", "EvalContext", "ExecutorContext", "ExecutorSpec", "ExtensionSpec",
    "GanzooError", "Generator", "GeneratorStep", "LoadedData", "LossSpec", "Losses", "Maxout", "MetricResult",
    "MetricSpec", "ModelSpec", "Objective", "Option", "Phase", "RunConfig", "StreamData", "TensorData", "TrainState",
    "TrainingExtension", "UnpairedData", "adam", "check_temperature", "collect_outcome", "decode_tokens",
    "discriminator_trunk", "doubling_stages", "frozen", "hookimpl", "init_weights", "k_step", "layer_norm",
    "run_bench_task", "spectral_norm",
    "square_image_shape", "temperature_keywords", "unknown_name", "WORKER_PRELOAD",
]

"""Scoring a run on native-resolution data (digits' ``data.native``) beside the GANs of the dataset's default view.

A likelihood model trains on the 8x8 scans; its samples are mapped by the dataset's ``score_view``
(upsampled exactly as the real digits are) and image scores compare them with the default digits,
under the same protocol as any GAN trained on those.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from ganzoo.config import RunConfig
from ganzoo.config.sections import SECTIONS
from ganzoo.data.base import DataInfo
from ganzoo.data.loading import load_data
from ganzoo.errors import DataError
from ganzoo.nets.base import Generator
from ganzoo.registry import Registry


class ViewedGenerator(Generator):
    """A generator whose every sample is mapped into another data view (8x8 scans -> 32x32 digits)."""

    def __init__(self, inner: Generator, view: DataInfo, transform: Callable[[Tensor, DataInfo], Tensor]) -> None:
        super().__init__(inner.latent_dim, view.shape, inner.num_classes, inner.condition_shape)
        self.inner = inner
        self.view = view
        self.transform = transform

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.transform(self.inner(z, labels), self.view)

    def sample(self, n: int, labels: Tensor | None = None, generator=None) -> Tensor:
        return self.transform(self.inner.sample(n, labels=labels, generator=generator), self.view)


def score_view(registry: Registry, generator: Generator, config: RunConfig,
               info: DataInfo) -> tuple[Generator, RunConfig, DataInfo] | None:
    """The generator, config and data facts image scores see, or None when the run's data is its own view."""
    score_as = info.extras.get("score_as")
    if not score_as:
        return None
    dataset = registry.dataset(str(config["dataset"]))
    if dataset.score_view is None:
        raise DataError(f"dataset {dataset.name!r} declares a score view but gives no score_view to map samples into it")
    view_config = RunConfig({name: dict(config.section(name)) for name in SECTIONS})
    view_config.data.update(score_as)
    view_info = load_data(registry, view_config).info
    return ViewedGenerator(generator, view_info, dataset.score_view), view_config, view_info

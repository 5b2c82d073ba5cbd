"""FID of translations: the held-out sources translated, against the held-out split's real target images.

Only where the held-out split has at least :data:`MIN_IMAGES` targets: a Frechet distance between the
statistics of a few hundred images is dominated by their sampling noise (and the covariance of a
2048-wide feature from fewer images is singular), so smaller splits are refused with the reason
rather than given a number that would mislead. The features are the same extractors image scores use
(``--feature-extractor``; ``auto``: the data's domain extractor, else Inception).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganzoo.data.base import UnpairedData
from ganzoo.errors import ConfigError
from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec
from ganzoo.metrics.fidelity import extractor_for, features_of_images, metric_layer, score_features

MIN_IMAGES = 500


def heldout_images(ctx: EvalContext) -> tuple[Tensor, Tensor, str]:
    """(sources, real targets, split) of the held-out split, in [-1, 1]; the two need not correspond."""
    split = ctx.options.get("reference_split") or "test"
    data = ctx.real_data(split)
    if isinstance(data, UnpairedData):
        return UnpairedData._convert(data.a.clone()), UnpairedData._convert(data.b.clone()), split
    batches = list(data.iterate(ctx.batch_size))
    if any(b.condition is None for b in batches):
        raise ConfigError("translation-fid scores image-to-image runs: the data has no source images")
    return torch.cat([b.condition for b in batches]), torch.cat([b.x for b in batches]), split


def translation_fid(ctx: EvalContext) -> MetricResult:
    sources, targets, split = heldout_images(ctx)
    if len(targets) < MIN_IMAGES:
        raise ConfigError(f"translation-fid needs at least {MIN_IMAGES} held-out target images; split {split!r} of "
                          f"{ctx.config['dataset']} has {len(targets)} (an FID of so few says little; score l1/ssim)")
    G, noise = ctx.generator, torch.Generator().manual_seed(int(ctx.seed))
    with torch.no_grad():
        translated = torch.cat([G.sample(len(part), labels=part.to(G.device), generator=noise).float().cpu()
                                for part in sources.split(ctx.batch_size)]).clamp(-1, 1)
    extractor = extractor_for(ctx)
    layer = metric_layer(extractor, "fid")
    model = extractor.create([layer], ctx.device.type == "cuda")
    progress = ctx.options.get("progress", False)
    fake = features_of_images(translated, model, ctx.batch_size, progress)
    real = features_of_images(targets.float(), model, ctx.batch_size, progress)
    scores = score_features(fake, real, ["fid"], type(model))
    protocol = {**extractor.protocol(), "split": split, "num_translated": len(translated), "num_real": len(targets),
                "min_images": MIN_IMAGES}
    return MetricResult({"translation_fid": scores["fid"]}, protocol)


TRANSLATION_SPECS = [
    MetricSpec("translation-fid", f"FID of translated held-out sources against the held-out targets (needs at least "
               f"{MIN_IMAGES} of them)", ("translation",), translation_fid, {"translation_fid": "lower"}, default=False),
]

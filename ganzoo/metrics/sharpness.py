"""Sharpness: how much fine detail generated images have, against real images, so "blurry" is a number.

The score of an image is the variance of its Laplacian (the 3x3 kernel [[0,1,0],[1,-4,1],[0,1,0]] on the
grey image, pixel values in [0, 1], no padding), the usual focus measure of photography: edges and fine
strokes raise it, blur lowers it. ``sharpness`` is its mean over generated images, ``sharpness_real`` over
the reference images, and ``sharpness_gap`` = |log(sharpness / sharpness_real)|, zero when the samples are
as sharp as the real images, is what the leaderboard ranks (pixel noise is "sharp" too, so read it beside FID).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.metrics.base import EvalContext, MetricResult, MetricSpec, generated_samples
from ganzoo.metrics.fidelity import all_images, reference_split

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian_variance(images: Tensor) -> Tensor:
    """Variance of the Laplacian of each image in [-1, 1] (B, C, H, W), on its grey values in [0, 1]: (B,)."""
    grey = images.float().add(1).div(2).clamp(0, 1).mean(dim=1, keepdim=True)
    response = F.conv2d(grey, LAPLACIAN.to(grey.device).view(1, 1, 3, 3))
    return response.flatten(1).var(dim=1)


def sharpness(ctx: EvalContext) -> MetricResult:
    split = reference_split(ctx)
    generated = float(laplacian_variance(generated_samples(ctx)).mean())
    real = float(laplacian_variance(all_images(ctx.real_data(split))).mean())
    gap = abs(math.log(generated / real)) if generated > 0 and real > 0 else math.inf
    protocol = {"num_generated": ctx.num_samples, "reference": f"{ctx.config['dataset']}:{split}",
                "image_size": list(ctx.data_info.shape), "measure": "variance of the 3x3 Laplacian, grey in [0, 1]"}
    return MetricResult({"sharpness": generated, "sharpness_real": real, "sharpness_gap": gap}, protocol)


SHARPNESS_SPECS = [
    MetricSpec("sharpness", "variance of the Laplacian of generated vs real images (blur lowers it)", ("image",),
               sharpness, {"sharpness_gap": "lower"}, default=False),
]

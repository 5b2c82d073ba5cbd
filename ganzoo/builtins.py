"""Core's own plugin: the losses, datasets and metrics every variant can use.

It is registered through the same hooks as any plugin, but always loads (it is part of
ganzoo itself, not a variant).
"""

from __future__ import annotations

from collections.abc import Callable

from ganzoo import losses
from ganzoo.config import Option
from ganzoo.data import digits, folder, toy2d, vision
from ganzoo.extensions.specs import EXTENSION_SPECS
from ganzoo.hookspecs import hookimpl
from ganzoo.metrics.classwise import CLASSWISE_SPECS
from ganzoo.metrics.fidelity import FIDELITY_SPECS
from ganzoo.metrics.likelihood import LIKELIHOOD_SPECS
from ganzoo.metrics.modes import MODE_SPECS
from ganzoo.metrics.sharpness import SHARPNESS_SPECS
from ganzoo.metrics.translated import TRANSLATION_SPECS
from ganzoo.spec import DatasetSpec


@hookimpl
def register_losses(register: Callable) -> None:
    register(losses.NONSATURATING)
    register(losses.MINIMAX)
    register(losses.HINGE)


@hookimpl
def register_datasets(register: Callable) -> None:
    register(DatasetSpec(
        "digits", "1,797 handwritten digit scans (8x8, upsampled to 32x32), bundled with scikit-learn",
        "image", digits.load_digits, labelled=True, source="scikit-learn (UCI optdigits), offline",
        options={"native": Option(False, "serve the scans as scanned: 8x8, 17 grey levels (likelihood models); image "
                                         "scores still see samples upsampled to image_size like the real digits")},
        score_view=digits.to_scored,
    ))
    register(DatasetSpec(
        "mnist", "MNIST handwritten digits, 28x28 grayscale, 10 classes", "image",
        vision.load_mnist, labelled=True, source="torchvision layout: DATA_ROOT/MNIST/raw", reads_files=True,
    ))
    register(DatasetSpec(
        "fashion-mnist", "Fashion-MNIST clothing images, 28x28 grayscale, 10 classes", "image",
        vision.load_fashion_mnist, labelled=True, source="torchvision layout: DATA_ROOT/FashionMNIST/raw", reads_files=True,
    ))
    register(DatasetSpec(
        "cifar10", "CIFAR-10 natural images, 32x32 RGB, 10 classes", "image",
        vision.load_cifar10, labelled=True, source="binary version: DATA_ROOT/cifar-10-batches-bin", reads_files=True,
    ))
    register(DatasetSpec(
        "celeba", "CelebA aligned faces, cropped and resized (64x64 by default)", "image",
        vision.load_celeba, source="torchvision layout: DATA_ROOT/celeba", reads_files=True,
    ))
    register(DatasetSpec(
        "folder", "any directory of images (--data-root); class sub-folders become labels", "image",
        folder.load_folder, labelled=True, source="your files", reads_files=True, heldout_split=None,
        options={"channels": Option("auto", "channels to load the images with: 1 (grayscale), 3 (RGB) or auto (1 when "
                                            "every image is grayscale, else 3)", choices=("auto", "1", "3"))},
    ))
    register(DatasetSpec(
        "ring", "8 Gaussians on a circle of radius 1, std 0.01 (mode-collapse benchmark)", "points",
        toy2d.mixture_loader("ring"), source="synthetic",
    ))
    register(DatasetSpec(
        "grid", "25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (mode-collapse benchmark)", "points",
        toy2d.mixture_loader("grid"), source="synthetic",
    ))


@hookimpl
def register_metrics(register: Callable) -> None:
    for spec in (*FIDELITY_SPECS, *CLASSWISE_SPECS, *MODE_SPECS, *LIKELIHOOD_SPECS, *SHARPNESS_SPECS,
                 *TRANSLATION_SPECS):
        register(spec)


@hookimpl
def register_extensions(register: Callable) -> None:
    for spec in EXTENSION_SPECS:
        register(spec)

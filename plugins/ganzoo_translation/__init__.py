"""ganzoo plugin: image-to-image translation.

Variants ``pix2pix`` (paired), ``cyclegan`` (unpaired) and the ``identity`` baseline; the ``fonts`` dataset
(glyphs of two fonts paired by character) and the folder layouts of the pix2pix and CycleGAN datasets;
the ``least-squares`` loss; scores against the true targets (L1, PSNR, SSIM) and, on fonts, whether a
translated glyph is still its character and looks like the target font.
"""

from __future__ import annotations

from ganzoo.plugin import hookimpl
from ganzoo_translation import baseline, cyclegan, pix2pix, scores
from ganzoo_translation.edges import EDGES2DIGITS
from ganzoo_translation.folders import PAIRED_FOLDER, UNPAIRED_FOLDER
from ganzoo_translation.fontdata import FONTS


@hookimpl
def register_models(register):
    for spec in (pix2pix.SPEC, cyclegan.SPEC, baseline.SPEC):
        register(spec)


@hookimpl
def register_datasets(register):
    for spec in (FONTS, PAIRED_FOLDER, UNPAIRED_FOLDER, EDGES2DIGITS):
        register(spec)


@hookimpl
def register_losses(register):
    register(cyclegan.LEAST_SQUARES)


@hookimpl
def register_metrics(register):
    for spec in scores.METRICS:
        register(spec)

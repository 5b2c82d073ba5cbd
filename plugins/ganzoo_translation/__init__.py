"""ganzoo plugin (in progress): image-to-image translation, issue 16.

The home of the translation modality (paired and unpaired data, pix2pix, CycleGAN). So far it
holds only the glyph renderer of the ``fonts`` dataset (:mod:`ganzoo_translation.fonts`); it
registers nothing yet and has no entry point.
"""

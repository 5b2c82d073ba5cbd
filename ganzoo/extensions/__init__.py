"""Training extensions that work with any variant: an EMA of G's weights, differentiable augmentation
of what D sees (DiffAugment, ADA), and regularisers of D (R1, LeCam). Each is a
:class:`~ganzoo.driver.state.TrainingExtension` the shared driver applies; :mod:`ganzoo.extensions.selection`
turns a run's trainer options into them."""

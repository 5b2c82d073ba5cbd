"""The shared trainer: one loop for every variant, driven by the variant's step function."""

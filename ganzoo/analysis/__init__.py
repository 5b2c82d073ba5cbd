"""Analyses that show what a GAN learned: the pictures behind the classic GAN figures.

toy1d: Goodfellow et al. 2014, Figure 1, trained live on a 1-D Gaussian.
neighbours: nearest training images of generated samples (Goodfellow et al. 2014, Figure 2).
latent: interpolation between latents and latent vector arithmetic (Radford et al. 2015).
curves: losses, D(x), D(G(z)) and scores over training, from a run's metrics.jsonl.
"""

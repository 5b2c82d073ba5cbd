"""The shared trainer: one loop for every variant (logs, samples, checkpoints, resume), and building its TrainState."""

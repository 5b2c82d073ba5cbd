"""Scores of trained generators: the metric contract, image scores through torch-fidelity,
and the feature extractors behind them."""

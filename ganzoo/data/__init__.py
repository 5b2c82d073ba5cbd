"""Datasets: the loaded-data contract and the built-in datasets core registers."""

"""ganzoo: a pluggable GAN zoo. Variants are plugins; one trainer runs them all.

The Python API mirrors the CLI::

    import ganzoo
    run = ganzoo.train("dcgan", dataset="digits", steps=500)
    G = ganzoo.load(run.path)          # a torch.nn.Module, ready for plain PyTorch
    images = G.sample(16)
"""

from __future__ import annotations

from typing import Any

from ganzoo.version import __version__

_API = {
    "train", "load", "load_run", "sample", "evaluate", "fit_extractor", "list_entries", "info", "list_plugins", "check",
    "new_plugin", "neighbours", "interpolate", "arithmetic", "plot", "demo_toy1d", "bench", "check_suite", "leaderboard",
    "translate",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    # the API imports torch; keep `import ganzoo` (and `ganzoo --version`) light until it is used
    if name in _API:
        from ganzoo import api

        return getattr(api, name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")

"""Inception-v3 weights for torch-fidelity's `inception-v3-compat`, found offline or refused fast.

torch-fidelity downloads the weights in the extractor's constructor and would hang or fail
deep inside a run without network. ganzoo looks for the file itself (an explicit path,
$GANZOO_INCEPTION_WEIGHTS, or torch's hub checkpoint cache) and otherwise stops at once with
one line that says what to fetch and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ganzoo.errors import ConfigError

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + WEIGHTS_FILE
ENV_VAR = "GANZOO_INCEPTION_WEIGHTS"


def hub_weights_path() -> Path:
    """Where torch's hub cache would keep the file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def check_tensor_only(path: Path) -> None:
    """Refuse a weights file holding anything but tensors.

    torch-fidelity reads the file with ``torch.load(weights_only=False)``; reading it once
    with ``weights_only=True`` first means nothing in it can run code.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"{path}: not a plain tensor weights file ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: expected a state dict of tensors")


def resolve_inception_weights(explicit: str | Path | None = None) -> Path:
    """The Inception weights file to use; a one-line ConfigError naming the fixes when there is none."""
    candidates = [(Path(explicit), "--inception-weights")] if explicit else []
    if os.environ.get(ENV_VAR):
        candidates.append((Path(os.environ[ENV_VAR]), f"${ENV_VAR}"))
    for path, origin in candidates:
        if not path.is_file():
            raise ConfigError(f"{origin} {path}: no such file")
        check_tensor_only(path)
        return path
    hub = hub_weights_path()
    if hub.is_file():
        check_tensor_only(hub)
        return hub
    raise ConfigError(
        f"inception-v3-compat needs {WEIGHTS_FILE} and this machine has no copy: pass --inception-weights PATH, "
        f"set {ENV_VAR}=PATH, or put the file in {hub.parent}/; on a networked machine fetch it from {WEIGHTS_URL}"
    )

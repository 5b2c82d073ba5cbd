"""The synthetic oracle of SeqGAN's experiment: a random LSTM whose samples are the training data.

The oracle has the generator's architecture with every parameter drawn from N(0, 1) (one
bias per gate, as in the paper), so its next-token distributions are sharp and its samples
have structure an LSTM can learn. It is a pure function of its seed and sizes; the run keeps
its weights (RUN/data.safetensors) so NLL-oracle can be recomputed later, whatever torch's
random streams do in future versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ganzoo.plugin import ConfigError, DataError, DataInfo, DataRequest, TensorData
from ganzoo_seqgan.models import LSTMGenerator

ARTIFACT_PREFIX = "oracle/"
SPLIT_STREAMS = {"train": 1, "test": 2}
DEFAULTS: dict[str, Any] = {
    "oracle_vocab": 5000,
    "oracle_length": 20,
    "oracle_emb_dim": 32,
    "oracle_hidden_dim": 32,
    "oracle_seed": 0,
    "oracle_samples": 10_000,
}


def oracle_sizes(options: Mapping[str, Any]) -> dict[str, int]:
    """The oracle's sizes and seed, checked."""
    sizes = {key: int(options.get(key, default)) for key, default in DEFAULTS.items()}
    for key in ("oracle_vocab", "oracle_length", "oracle_emb_dim", "oracle_hidden_dim", "oracle_samples"):
        if sizes[key] < 1:
            raise ConfigError(f"{key} must be positive, got {sizes[key]}")
    if sizes["oracle_vocab"] < 2:
        raise ConfigError("oracle_vocab must be at least 2")
    return sizes


def build_oracle(sizes: Mapping[str, int]) -> LSTMGenerator:
    """An LSTM language model with the given sizes and no trained weights yet."""
    return LSTMGenerator(sizes["oracle_vocab"], sizes["oracle_length"], sizes["oracle_emb_dim"], sizes["oracle_hidden_dim"])


def make_oracle(sizes: Mapping[str, int]) -> LSTMGenerator:
    """The oracle for these sizes: parameters N(0, 1) from a generator seeded by ``oracle_seed``."""
    oracle = build_oracle(sizes)
    gen = torch.Generator().manual_seed(int(sizes["oracle_seed"]))
    with torch.no_grad():
        for name, p in oracle.named_parameters():
            if name.startswith("lstm.bias_hh"):
                p.zero_()  # nn.LSTM has two biases per gate; the paper's oracle has one
            else:
                p.copy_(torch.randn(p.shape, generator=gen))
    return oracle.eval()


def oracle_from_tensors(tensors: Mapping[str, Tensor], info: DataInfo) -> LSTMGenerator:
    """Rebuild the oracle kept with a run."""
    oracle = build_oracle(info.extras["oracle"])
    state = {k[len(ARTIFACT_PREFIX):]: v for k, v in tensors.items() if k.startswith(ARTIFACT_PREFIX)}
    if not state:
        raise DataError("this run's data artifacts hold no oracle")
    oracle.load_state_dict(state)
    return oracle.eval()


@torch.no_grad()
def sample_sequences(model: LSTMGenerator, n: int, seed: int, batch_size: int = 2000) -> Tensor:
    """n sequences from ``model``, reproducible from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    parts = [model.sample(min(batch_size, n - done), generator=gen) for done in range(0, n, batch_size)]
    return torch.cat(parts)


class OracleData(TensorData):
    """Sequences sampled from the oracle; the oracle itself is kept with the run."""

    def __init__(self, x: Tensor, info: DataInfo, oracle: LSTMGenerator) -> None:
        super().__init__(x, None, info)
        self.oracle = oracle

    def artifacts(self) -> dict[str, Tensor]:
        return {ARTIFACT_PREFIX + k: v.detach().clone() for k, v in self.oracle.state_dict().items()}


def load_oracle(request: DataRequest) -> OracleData:
    """The 'oracle' dataset: ``oracle_samples`` sequences of the oracle (train and test differ)."""
    if request.split not in SPLIT_STREAMS:
        raise DataError(f"oracle has splits {', '.join(SPLIT_STREAMS)}; got {request.split!r}")
    sizes = oracle_sizes(request.options)
    oracle = make_oracle(sizes)
    seed = sizes["oracle_seed"] * 1_000_003 + SPLIT_STREAMS[request.split]
    x = sample_sequences(oracle, sizes["oracle_samples"], seed)
    info = DataInfo("sequence", (sizes["oracle_length"],), extras={"vocab_size": sizes["oracle_vocab"], "oracle": sizes})
    return OracleData(x, info, oracle)

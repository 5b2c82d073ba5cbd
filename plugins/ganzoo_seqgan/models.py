"""SeqGAN networks (Yu et al. 2017): an LSTM generator and a CNN discriminator over token ids.

G reads one token at a time and predicts the next; it samples autoregressively. For text it
knows the end and padding tokens: after an end token it emits padding, and those forced
positions carry no likelihood and no reward. D embeds the tokens, convolves windows of
several widths, max-pools each over time, and passes the result through a highway layer
and dropout to one logit.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import BuildContext, ConfigError, DataInfo, Discriminator, Generator, check_temperature

PAPER_WINDOWS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


def draw_tokens(logits: Tensor, generator: torch.Generator | None) -> Tensor:
    """One token per row of ``logits`` (consumed) by inverting the CDF: one uniform per row, on any device."""
    device = generator.device if generator is not None else logits.device
    u = torch.rand(logits.shape[0], 1, generator=generator, device=device).to(logits.device)
    return invert_cdf(logits, u).squeeze(1)


def invert_cdf(logits: Tensor, u: Tensor) -> Tensor:
    """Tokens (B, K): for each uniform of ``u`` (B, K), the first token whose CDF under softmax(logits)
    (B, V; consumed) reaches it."""
    weights = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()  # unnormalised: the CDF is scaled instead
    cdf = weights.cumsum_(dim=1)
    tokens = torch.searchsorted(cdf, u * cdf[:, -1:])
    return tokens.clamp_(max=logits.shape[1] - 1)


class LSTMGenerator(Generator):
    """Token sequences (B, L) of ids in [0, vocab_size) from an LSTM language model.

    ``latent_dim`` is 0: randomness comes from sampling tokens, not from a latent vector. It samples at
    a softmax temperature (``sample(..., temperature=t)``); rollouts stay at 1, the policy being trained.
    """

    supports_temperature = True

    def __init__(
        self,
        vocab_size: int,
        length: int,
        emb_dim: int,
        hidden_dim: int,
        start_token: int | None = None,
        end_token: int | None = None,
        pad_token: int | None = None,
    ) -> None:
        super().__init__(0, (length,))
        self.vocab_size = int(vocab_size)
        self.length = int(length)
        # without a start token in the vocabulary, an extra embedding row serves as one
        self.start_token = int(start_token) if start_token is not None else self.vocab_size
        self.end_token = end_token
        self.pad_token = pad_token
        rows = self.vocab_size + (1 if start_token is None else 0)
        self.embedding = nn.Embedding(rows, emb_dim)
        self.lstm = nn.LSTM(emb_dim, hidden_dim, batch_first=True)
        self.output = nn.Linear(hidden_dim, self.vocab_size)

    def forward(self, tokens: Tensor, labels: Tensor | None = None) -> Tensor:
        """Teacher-forced next-token logits (B, L, V) for sequences ``tokens`` (B, L)."""
        logits, _ = self.logits_and_states(tokens)
        return logits

    def inputs(self, tokens: Tensor) -> Tensor:
        """The input at each position: the start token, then the sequence shifted right."""
        start = torch.full_like(tokens[:, :1], self.start_token)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def run_lstm(self, x: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The LSTM over embedded inputs x (B, T, E); oneDNN's RNN kernel is off: it was 3x slower here."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the flags context warns about TF32 on Intel GPUs
            with torch.backends.mkldnn.flags(enabled=False):
                return self.lstm(x, state)

    def logits_and_states(self, tokens: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Logits (B, L, V) and the final LSTM state (h, c)."""
        out, state = self.run_lstm(self.embedding(self.inputs(tokens)), None)
        return self.output(out), state

    def free_positions(self, tokens: Tensor) -> Tensor:
        """(B, L) bool: positions the model chose (False after an end token, where padding is forced)."""
        if self.end_token is None:
            return torch.ones_like(tokens, dtype=torch.bool)
        ended = (tokens == self.end_token).long().cumsum(dim=1)
        return (ended - (tokens == self.end_token).long()) == 0

    def token_log_probs(self, tokens: Tensor, temperature: float = 1.0) -> Tensor:
        """log p(x_t | x_<t) for every position (B, L), zero where padding is forced; ``temperature``: of the
        distribution sampled at that temperature (softmax of logits / temperature)."""
        logits = self(tokens)
        logp = torch.log_softmax(logits.float() / temperature, dim=-1).gather(2, tokens.unsqueeze(2)).squeeze(2)
        return logp * self.free_positions(tokens)

    def nll(self, tokens: Tensor) -> Tensor:
        """Mean negative log-likelihood per chosen token (a scalar)."""
        free = self.free_positions(tokens)
        return -self.token_log_probs(tokens).sum() / free.sum().clamp(min=1)

    def prefix_states(self, tokens: Tensor) -> list[tuple[Tensor, Tensor]]:
        """The LSTM state after reading the inputs of positions 1..t, for t = 1..L (stepwise)."""
        states, state = [], None
        for token in self.inputs(tokens).unbind(dim=1):
            _, state = self.run_lstm(self.embedding(token).unsqueeze(1), state)
            states.append(state)
        return states

    def step(self, token: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step: next-token logits (B, V) in fp32 after input ``token`` (B,), and the new state."""
        out, state = self.run_lstm(self.embedding(token).unsqueeze(1), state)
        return self.output(out[:, 0]).float(), state

    def continue_from(
        self, prefix: Tensor, state: tuple[Tensor, Tensor] | None, generator: torch.Generator | None = None,
        temperature: float = 1.0,
    ) -> Tensor:
        """Complete sequences whose first ``prefix.shape[1]`` tokens are given and whose LSTM state
        after reading all but the last of them is ``state`` (None for an empty prefix), drawing each token
        from softmax(logits / ``temperature``)."""
        n, given = prefix.shape
        tokens = [prefix[:, i] for i in range(given)]
        last = prefix[:, -1] if given else torch.full((n,), self.start_token, dtype=torch.long, device=self.device)
        for _ in range(given, self.length):
            logits, state = self.step(last, state)
            last = draw_tokens(logits.div_(temperature), generator)  # exact at 1: x / 1 is x
            tokens.append(last)
        out = torch.stack(tokens, dim=1) if tokens else prefix
        return self.force_padding(out)

    def complete_prefixes(self, samples: Tensor, rollouts: int, generator: torch.Generator | None = None) -> Tensor:
        """``rollouts`` completions of every proper prefix of ``samples`` (n, L): (L - 1, n * rollouts, L),
        block t - 1 for the first t tokens, a sample's completions adjacent.

        The tokens are those of calling ``continue_from`` on each block in turn, t = 1, ..., L - 1
        (the same uniforms in the same order), but every prefix advances at once, one LSTM step per
        position, and a prefix's first new token comes from logits computed once per sample."""
        n, length = samples.shape
        rows = n * rollouts
        if length == 1:
            return samples.new_empty(0, rows, 1)
        device = generator.device if generator is not None else samples.device
        draws = torch.rand(rows * length * (length - 1) // 2, generator=generator, device=device).to(samples.device)
        uniforms = [u.view(length - t, rows) for t, u in zip(range(1, length), draws.split(
            [rows * (length - t) for t in range(1, length)]), strict=True)]
        states = self.prefix_states(samples)[1:]  # after reading the start token and the first t tokens
        h = torch.cat([state[0] for state in states], dim=1)  # (1, (L - 1) * n, H)
        c = torch.cat([state[1] for state in states], dim=1)
        completed = samples.repeat_interleave(rollouts, dim=0).repeat(length - 1, 1, 1)  # (L - 1, rows, L)
        first = self.draw_from(h[0], torch.stack([u[0] for u in uniforms]).view(-1, rollouts))
        for t, tokens in enumerate(first.view(length - 1, rows), start=1):
            completed[t - 1, :, t] = tokens
        flat = completed.view(-1, length)
        h, c = h.repeat_interleave(rollouts, dim=1), c.repeat_interleave(rollouts, dim=1)
        for s in range(2, length):  # blocks t < s extend their completions to position s
            active = (s - 1) * rows
            out, (h_s, c_s) = self.run_lstm(self.embedding(flat[:active, s - 1]).unsqueeze(1),
                                            (h[:, :active], c[:, :active]))
            h[:, :active], c[:, :active] = h_s, c_s
            u = torch.cat([uniforms[t - 1][s - t] for t in range(1, s)]).unsqueeze(1)
            flat[:active, s] = self.draw_from(out[:, 0], u).squeeze(1)
        return self.force_padding(flat).view(length - 1, rows, length)

    def draw_from(self, hidden: Tensor, u: Tensor, chunk: int = 512) -> Tensor:
        """Tokens (N, K) for LSTM outputs ``hidden`` (N, H) and uniforms ``u`` (N, K), ``chunk`` rows of
        logits at a time (a chunk of the oracle's fits in cache; tens of MB would be fresh pages each time)."""
        return torch.cat([invert_cdf(self.output(part).float(), u_part)
                          for part, u_part in zip(hidden.split(chunk), u.split(chunk), strict=True)])

    def force_padding(self, tokens: Tensor) -> Tensor:
        """Replace everything after the first end token by padding."""
        if self.end_token is None or self.pad_token is None:
            return tokens
        after_end = ~self.free_positions(tokens)
        return tokens.masked_fill(after_end, self.pad_token)

    def sample(self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> Tensor:
        """n sequences (n, L) of token ids, sampled token by token at the softmax ``temperature`` (> 0)."""
        temperature = check_temperature(temperature)
        empty = torch.zeros(n, 0, dtype=torch.long, device=self.device)
        return self.continue_from(empty, None, generator, temperature)


class Highway(nn.Module):
    """y = t * relu(W x) + (1 - t) * x with a learned gate t = sigmoid(W_t x)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.transform = nn.Linear(size, size)
        self.gate = nn.Linear(size, size)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.gate(x))
        return gate * torch.relu(self.transform(x)) + (1 - gate) * x


class CNNDiscriminator(Discriminator):
    """Token sequences (B, L) -> logits (B,) that they are real.

    Windows wider than the sequence are left out (with their kernels).
    """

    def __init__(
        self,
        vocab_size: int,
        length: int,
        emb_dim: int,
        windows: Sequence[int],
        filters: Sequence[int],
        dropout: float,
    ) -> None:
        super().__init__()
        if len(windows) != len(filters):
            raise ConfigError(f"d_windows has {len(windows)} entries but d_filters has {len(filters)}")
        kept = [(int(w), int(f)) for w, f in zip(windows, filters, strict=True) if w <= length]
        if not kept:
            raise ConfigError(f"every d_windows entry is longer than the sequences ({length} tokens)")
        self.windows = tuple(w for w, _ in kept)
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        self.convs = nn.ModuleList(nn.Conv1d(emb_dim, f, w) for w, f in kept)
        features = sum(f for _, f in kept)
        self.highway = Highway(features)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(features, 1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        emb = self.embedding(x).transpose(1, 2)  # (B, E, L)
        return self.head([torch.relu(conv(emb)).amax(dim=2) for conv in self.convs])

    def head(self, pooled: list[Tensor]) -> Tensor:
        """Logits (B,) from the max-pooled features (B, filters) of every window."""
        h = self.dropout(self.highway(torch.cat(pooled, dim=1)))
        return self.output(h).squeeze(1)

    @torch.no_grad()
    def score(self, x: Tensor, chunk: int = 1024) -> Tensor:
        """Logits (B,) of many sequences as ``forward`` computes them in eval mode, faster: a window's
        convolution of the embedding is a sum of per-token projections (token, offset -> filters),
        tabulated once for the tokens in ``x`` and summed by ``embedding_bag``, ``chunk`` sequences at a time."""
        if self.training:
            raise RuntimeError("score is for eval mode (no dropout)")
        tokens, local = torch.unique(x, return_inverse=True)
        emb = self.embedding(tokens)
        # per window: row k * U + u is token u's projection at offset k (U distinct tokens)
        tables = [torch.matmul(emb, conv.weight.permute(2, 1, 0)).flatten(0, 1) for conv in self.convs]
        offsets = [torch.arange(w, device=x.device) * len(tokens) for w in self.windows]
        logits = []
        for part in local.split(chunk):
            pooled = []
            for conv, table, offset in zip(self.convs, tables, offsets, strict=True):
                bags = part.unfold(1, len(offset), 1) + offset  # (b, positions, window)
                sums = F.embedding_bag(bags.flatten(0, 1), table, mode="sum").view(*bags.shape[:2], -1)
                pooled.append(torch.relu(sums.amax(dim=1) + conv.bias))
            logits.append(self.head(pooled))
        return torch.cat(logits)


def sequence_facts(info: DataInfo) -> tuple[int, int]:
    """(vocab_size, length) of sequence data, with a clear error for other data."""
    if info.modality != "sequence" or "vocab_size" not in info.extras:
        raise ConfigError("seqgan trains on token sequences (a sequence dataset with a vocab_size)")
    return int(info.extras["vocab_size"]), int(info.shape[0])


def build_generator(ctx: BuildContext) -> LSTMGenerator:
    vocab_size, length = sequence_facts(ctx.data)
    extras = ctx.data.extras
    return LSTMGenerator(
        vocab_size, length, ctx["emb_dim"], ctx["hidden_dim"],
        start_token=extras.get("start_token"), end_token=extras.get("end_token"), pad_token=extras.get("pad_token"),
    )


def build_discriminator(ctx: BuildContext) -> CNNDiscriminator:
    vocab_size, length = sequence_facts(ctx.data)
    return CNNDiscriminator(vocab_size, length, ctx["d_emb_dim"], ctx["d_windows"], ctx["d_filters"], ctx["d_dropout"])

"""RelGAN's networks (Nie, Narodytska & Patel 2019): a relational-memory generator and a CNN discriminator with
multiple embedded representations, both reading hard token ids or relaxed one-hot vectors.

G is a language model whose recurrent cell is a relational memory core (Santoro et al. 2018): memory slots
attend over themselves and the current input with multi-head attention, pass an MLP (each with a residual
connection and layer norm), and are blended with the old memory by LSTM-like input and forget gates. It
follows SeqGAN's token conventions: the start token (or an extra embedding row when the data has none) is
the first input, and after an end token the data's padding is forced, carrying no likelihood.

For adversarial training G emits, at each position, softmax(beta * (logits + gumbel)): a relaxed one-hot
vector whose hard argmax (a sample of softmax(logits), by the Gumbel-max trick) is the next input. D embeds
its input with one matrix whose columns split into ``num_rep`` representations, convolves and max-pools each
representation with shared filters, and gives one logit per representation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.plugin import BuildContext, ConfigError, DataInfo, Discriminator, Generator, check_temperature
from ganzoo_relgan.schedules import resolved_schedule

GUMBEL_EPS = 1e-10  # as the reference code's add_gumbel: -log(-log(u + eps) + eps)


def draw_tokens(logits: Tensor, generator: torch.Generator | None) -> Tensor:
    """One token per row of ``logits`` (B, V; consumed): the first whose CDF under softmax(logits) reaches a
    uniform drawn from ``generator`` (one uniform per row, on the generator's device)."""
    device = generator.device if generator is not None else logits.device
    u = torch.rand(logits.shape[0], 1, generator=generator, device=device).to(logits.device)
    cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)  # unnormalised: scale u instead
    return torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=logits.shape[1] - 1).squeeze(1)


def gumbel_noise(shape: torch.Size, device: torch.device) -> Tensor:
    """Gumbel(0, 1) noise -log(-log(u + eps) + eps) from torch's global generator, in place (2x faster on CPU)."""
    return torch.rand(shape, device=device).add_(GUMBEL_EPS).log_().neg_().add_(GUMBEL_EPS).log_().neg_()


class RelationalMemory(nn.Module):
    """A relational memory core, one block of attention: memory (B, N, M) and an input -> new memory.

    M = num_heads * head_size; keys and queries have head_size too. As the reference code: the input is
    projected to M (with bias) and appended as an extra row; queries are scaled by (3 * head_size) ** -0.5;
    the MLP has two layers of M; the input gate has bias 0 and the forget gate 1, both from the projected
    input and tanh of the old memory."""

    def __init__(self, input_size: int, mem_slots: int, head_size: int, num_heads: int) -> None:
        super().__init__()
        self.mem_slots, self.head_size, self.num_heads = int(mem_slots), int(head_size), int(num_heads)
        self.mem_size = self.head_size * self.num_heads
        m = self.mem_size
        self.input_proj = nn.Linear(input_size, m)
        self.qkv = nn.Linear(m, 3 * m, bias=False)
        self.qkv_norm = nn.LayerNorm(3 * m)
        self.attention_norm = nn.LayerNorm(m)
        self.mlp = nn.Sequential(nn.Linear(m, m), nn.ReLU(), nn.Linear(m, m))
        self.mlp_norm = nn.LayerNorm(m)
        self.gate_input = nn.Linear(m, 2 * m, bias=False)
        self.gate_memory = nn.Linear(m, 2 * m, bias=False)
        self.register_buffer("gate_bias", torch.tensor([0.0, 1.0]).repeat_interleave(m), persistent=False)

    def initial_state(self, batch: int, device: torch.device) -> Tensor:
        """(B, N, M): an identity matrix on the first N columns (every slot distinct), zeros elsewhere."""
        eye = torch.eye(self.mem_slots, max(self.mem_size, self.mem_slots), device=device)[:, : self.mem_size]
        return eye.expand(batch, -1, -1)

    def prepare(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The input's projection (…, M) and its share of the gates (…, 2M), for any leading shape: teacher
        forcing projects every position at once."""
        projected = self.input_proj(x)
        return projected, self.gate_input(projected)

    def forward(self, projected: Tensor, gates_in: Tensor, memory: Tensor) -> Tensor:
        """One step: the new memory (B, N, M) from a prepared input (B, M), (B, 2M) and the old memory."""
        b, n, m = memory.shape
        rows = torch.cat([memory, projected.unsqueeze(1)], dim=1)  # (B, N + 1, M)
        qkv = self.qkv_norm(self.qkv(rows)).view(b, n + 1, self.num_heads, 3 * self.head_size).transpose(1, 2)
        q, k, v = qkv.split(self.head_size, dim=-1)
        weights = torch.softmax(q @ k.transpose(-1, -2) * (3 * self.head_size) ** -0.5, dim=-1)
        attended = (weights @ v).transpose(1, 2).reshape(b, n + 1, m)
        rows = self.attention_norm(rows + attended)
        rows = self.mlp_norm(rows + self.mlp(rows))
        gates = self.gate_memory(torch.tanh(memory)) + gates_in.unsqueeze(1) + self.gate_bias
        input_gate, forget_gate = torch.sigmoid(gates).chunk(2, dim=-1)
        return input_gate * torch.tanh(rows[:, :n]) + forget_gate * memory


class RelationalGenerator(Generator):
    """Token sequences (B, L) of ids in [0, vocab_size) from a relational-memory language model.

    ``latent_dim`` is 0: randomness comes from sampling tokens. ``sample`` draws from softmax(logits /
    temperature); ``relaxed_sample`` gives the Gumbel-softmax outputs adversarial training feeds to D."""

    supports_temperature = True

    def __init__(
        self, vocab_size: int, length: int, emb_dim: int, mem_slots: int, head_size: int, num_heads: int,
        start_token: int | None = None, end_token: int | None = None, pad_token: int | None = None,
    ) -> None:
        super().__init__(0, (length,))
        self.vocab_size, self.length = int(vocab_size), int(length)
        self.start_token = int(start_token) if start_token is not None else self.vocab_size
        self.end_token, self.pad_token = end_token, pad_token
        self.embedding = nn.Embedding(self.vocab_size + (1 if start_token is None else 0), emb_dim)
        self.memory = RelationalMemory(emb_dim, mem_slots, head_size, num_heads)
        self.output = nn.Linear(self.memory.mem_slots * self.memory.mem_size, self.vocab_size)

    def inputs(self, tokens: Tensor) -> Tensor:
        """The input at each position: the start token, then the sequence shifted right."""
        return torch.cat([torch.full_like(tokens[:, :1], self.start_token), tokens[:, :-1]], dim=1)

    def forward(self, tokens: Tensor, labels: Tensor | None = None) -> Tensor:
        """Teacher-forced next-token logits (B, L, V) for sequences ``tokens`` (B, L)."""
        projected, gates_in = self.memory.prepare(self.embedding(self.inputs(tokens)))
        memory = self.memory.initial_state(len(tokens), tokens.device)
        states = []
        for t in range(tokens.shape[1]):
            memory = self.memory(projected[:, t], gates_in[:, t], memory)
            states.append(memory.flatten(1))
        return self.output(torch.stack(states, dim=1))

    def step(self, token: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Next-token logits (B, V) in fp32 after input ``token`` (B,), and the new memory."""
        memory = self.memory(*self.memory.prepare(self.embedding(token)), memory)
        return self.output(memory.flatten(1)).float(), memory

    def free_positions(self, tokens: Tensor) -> Tensor:
        """(B, L) bool: positions the model chose (False after an end token, where padding is forced)."""
        if self.end_token is None:
            return torch.ones_like(tokens, dtype=torch.bool)
        is_end = (tokens == self.end_token).long()
        return is_end.cumsum(dim=1) - is_end == 0

    def force_padding(self, tokens: Tensor) -> Tensor:
        """Replace everything after the first end token by padding."""
        if self.end_token is None or self.pad_token is None:
            return tokens
        return tokens.masked_fill(~self.free_positions(tokens), self.pad_token)

    def token_log_probs(self, tokens: Tensor, temperature: float = 1.0) -> Tensor:
        """log p(x_t | x_<t) for every position (B, L), zero where padding is forced; at ``temperature``: of the
        distribution sampled at that temperature (softmax of logits / temperature)."""
        logits = self(tokens).float()
        if temperature != 1.0:
            logits = logits / temperature
        logp = -F.cross_entropy(logits.flatten(0, 1), tokens.flatten(), reduction="none").view_as(tokens)
        return logp * self.free_positions(tokens)

    def nll(self, tokens: Tensor) -> Tensor:
        """Mean negative log-likelihood per chosen token (a scalar): the MLE loss."""
        return -self.token_log_probs(tokens).sum() / self.free_positions(tokens).sum().clamp(min=1)

    def sample(self, n: int, labels: Tensor | None = None, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> Tensor:
        """n sequences (n, L) of token ids, drawn token by token from softmax(logits / ``temperature``)."""
        temperature = check_temperature(temperature)
        token = torch.full((n,), self.start_token, dtype=torch.long, device=self.device)
        memory = self.memory.initial_state(n, self.device)
        tokens = []
        for _ in range(self.length):
            logits, memory = self.step(token, memory)
            token = draw_tokens(logits.div_(temperature), generator)  # exact at 1: x / 1 is x
            tokens.append(token)
        return self.force_padding(torch.stack(tokens, dim=1))

    def relaxed_sample(self, n: int, beta: float) -> tuple[Tensor, Tensor]:
        """n sequences by the Gumbel-max trick, with their relaxations: tokens (n, L) and softmax(beta *
        (logits + gumbel)) (n, L, V), differentiable in G's weights. The next input is the hard token's
        embedding (as the reference code). Forced padding is one-hot padding. Noise: torch's global generator."""
        token = torch.full((n,), self.start_token, dtype=torch.long, device=self.device)
        memory = self.memory.initial_state(n, self.device)
        tokens, relaxed = [], []
        for _ in range(self.length):
            logits, memory = self.step(token, memory)
            perturbed = logits + gumbel_noise(logits.shape, logits.device)
            token = perturbed.detach().argmax(dim=1)
            tokens.append(token)
            relaxed.append(torch.softmax(beta * perturbed, dim=1))
        hard, soft = torch.stack(tokens, dim=1), torch.stack(relaxed, dim=1)
        if self.end_token is None or self.pad_token is None:
            return hard, soft
        forced = ~self.free_positions(hard)
        padding = F.one_hot(torch.tensor(self.pad_token, device=soft.device), self.vocab_size).to(soft.dtype)
        return self.force_padding(hard), torch.where(forced.unsqueeze(2), padding, soft)


class Highway(nn.Module):
    """y = t * relu(W x) + (1 - t) * x with t = sigmoid(W_t x); no biases (the reference code's highway)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.transform = nn.Linear(size, size, bias=False)
        self.gate = nn.Linear(size, size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.gate(x))
        return gate * torch.relu(self.transform(x)) + (1 - gate) * x


class MultiRepDiscriminator(Discriminator):
    """Token ids (B, L) or relaxed one-hot vectors (B, L, V) -> logits (B,), the mean of one per representation.

    The embedding (V, emb_dim) splits into ``num_rep`` representations of emb_dim / num_rep columns; each
    window width's filters convolve every representation alike (the reference code's conv2d with a stride
    of one representation), max over time, then a highway layer, dropout, a linear layer of 100 and a linear
    logit (no nonlinearity between those two, as the reference code). Windows longer than the sequence are
    left out."""

    def __init__(self, vocab_size: int, length: int, emb_dim: int, num_rep: int, windows: Sequence[int],
                 filters: int, dropout: float) -> None:
        super().__init__()
        if emb_dim % num_rep:
            raise ConfigError(f"d_emb_dim ({emb_dim}) must be a multiple of num_rep ({num_rep}): it is their total")
        kept = [int(w) for w in windows if int(w) <= length]
        if not kept:
            raise ConfigError(f"every d_windows entry is longer than the sequences ({length} tokens)")
        self.num_rep, self.rep_dim = int(num_rep), emb_dim // num_rep
        self.embedding = nn.Parameter(torch.empty(vocab_size, emb_dim))
        std = 1 / math.sqrt(vocab_size)  # the reference code's linear initialiser, truncated at 2 std
        nn.init.trunc_normal_(self.embedding, std=std, a=-2 * std, b=2 * std)
        self.convs = nn.ModuleList(nn.Conv1d(self.rep_dim, filters, w) for w in kept)
        features = filters * len(kept)
        self.highway = Highway(features)
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(features, 100)
        self.output = nn.Linear(100, 1)

    def embed(self, x: Tensor) -> Tensor:
        """(B, L, emb_dim): rows of the embedding for token ids, the matrix product for (relaxed) one-hots."""
        return x @ self.embedding if x.is_floating_point() else F.embedding(x, self.embedding)

    def representation_logits(self, x: Tensor) -> Tensor:
        """One logit per sequence and representation (B, num_rep)."""
        emb = self.embed(x)
        b, length, _ = emb.shape
        reps = emb.view(b, length, self.num_rep, self.rep_dim).permute(0, 2, 3, 1).reshape(-1, self.rep_dim, length)
        pooled = torch.cat([torch.relu(conv(reps)).amax(dim=2) for conv in self.convs], dim=1)
        h = self.dropout(self.highway(pooled))
        return self.output(self.hidden(h)).view(b, self.num_rep)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.representation_logits(x).mean(dim=1)


def sequence_facts(info: DataInfo) -> tuple[int, int]:
    """(vocab_size, length) of sequence data, with a clear error for other data."""
    if info.modality != "sequence" or "vocab_size" not in info.extras:
        raise ConfigError("relgan trains on token sequences (a sequence dataset with a vocab_size)")
    return int(info.extras["vocab_size"]), int(info.shape[0])


def build_generator(ctx: BuildContext) -> RelationalGenerator:
    vocab_size, length = sequence_facts(ctx.data)
    plan, extras = resolved_schedule(ctx), ctx.data.extras
    return RelationalGenerator(
        vocab_size, length, plan["emb_dim"], plan["mem_slots"], plan["head_size"], plan["num_heads"],
        start_token=extras.get("start_token"), end_token=extras.get("end_token"), pad_token=extras.get("pad_token"),
    )


def build_discriminator(ctx: BuildContext) -> MultiRepDiscriminator:
    vocab_size, length = sequence_facts(ctx.data)
    plan = resolved_schedule(ctx)
    return MultiRepDiscriminator(vocab_size, length, plan["d_emb_dim"], plan["num_rep"], ctx["d_windows"],
                                 plan["d_filters"], ctx["d_dropout"])

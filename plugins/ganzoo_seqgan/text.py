"""The 'text' dataset: one sentence per line, as word-level token ids.

Words and punctuation marks are separate tokens. The vocabulary comes from the training file
(most frequent first); both splits use it, and unknown words of the held-out file become
``<unk>``; ``text_vocab_size`` caps the vocabulary at the most frequent words. Every sequence is
the sentence's tokens, then ``<end>``, then ``<pad>`` up to the maximum length (the longest
training sentence plus its end token, unless ``text_max_length`` is set; longer sentences are cut
and counted). The data's info records the tokenizer, the share of tokens that became ``<unk>``
and how many sentences were cut.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

import torch

from ganzoo.plugin import ConfigError, DataError, DataInfo, DataRequest, TensorData

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIALS = (PAD, START, END, UNK)
TOKEN = re.compile(r"[\w']+|[^\w\s]")
TOKENIZER = "words-and-punctuation"
"""The tokenizer's name in the data's info: words (with apostrophes, case kept) and single marks."""
log = logging.getLogger(__name__)


def tokenize(line: str) -> list[str]:
    """Words (with apostrophes) and single punctuation marks."""
    return TOKEN.findall(line)


def read_sentences(path: Path) -> list[list[str]]:
    """Tokenised non-empty lines of a UTF-8 text file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read text file {path}: {exc}") from None
    sentences = [tokens for tokens in map(tokenize, lines) if tokens]
    if not sentences:
        raise DataError(f"{path} holds no sentences")
    return sentences


def build_vocab(sentences: list[list[str]], min_count: int, max_words: int | None = None) -> list[str]:
    """Special tokens, then words seen at least ``min_count`` times, most frequent first (at most ``max_words``)."""
    counts = Counter(word for sentence in sentences for word in sentence)
    words = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS), key=lambda w: (-counts[w], w))
    return [*SPECIALS, *words[:max_words]]


def unknown_share(sentences: list[list[str]], vocab: list[str]) -> float:
    """The share of the sentences' tokens that are not in ``vocab`` (they become <unk>)."""
    known = set(vocab)
    total = sum(len(sentence) for sentence in sentences)
    return sum(word not in known for sentence in sentences for word in sentence) / total


def encode(sentences: list[list[str]], vocab: list[str], length: int) -> torch.Tensor:
    """(N, length) ids: tokens, <end>, <pad>... (cut at ``length``)."""
    index = {word: i for i, word in enumerate(vocab)}
    unk, end, pad = index[UNK], index[END], index[PAD]
    rows = []
    for sentence in sentences:
        ids = [index.get(word, unk) for word in sentence] + [end]
        rows.append((ids + [pad] * length)[:length])
    return torch.tensor(rows, dtype=torch.long)


def split_paths(request: DataRequest) -> tuple[Path, Path]:
    """(training file, held-out file): the test file defaults to NAME_test.EXT beside NAME.EXT."""
    if request.root is None:
        raise DataError("the text dataset needs --data-root FILE (one sentence per line)")
    train = request.resolved_root
    if not train.is_file():
        raise DataError(f"--data-root {train} is not a file; the text dataset reads one sentence per line")
    test_option = request.options.get("text_test_file")
    test = Path(test_option).expanduser() if test_option else train.with_name(f"{train.stem}_test{train.suffix}")
    return train, test


def load_text(request: DataRequest) -> TensorData:
    """Sentences of the training file (split 'train') or of the held-out file (split 'test')."""
    if request.split not in ("train", "test"):
        raise DataError(f"text has splits train, test; got {request.split!r}")
    train_path, test_path = split_paths(request)
    train = read_sentences(train_path)
    min_count = int(request.options.get("text_min_count") or 1)
    max_words = request.options.get("text_vocab_size")
    vocab = build_vocab(train, min_count, int(max_words) if max_words else None)
    max_length = request.options.get("text_max_length")
    length = int(max_length) if max_length else max(len(s) for s in train) + 1
    if length < 2:
        raise ConfigError(f"text_max_length must be at least 2, got {length}")
    if request.split == "test":
        if not test_path.is_file():
            raise DataError(f"no held-out file {test_path}; set text_test_file=PATH")
        sentences = read_sentences(test_path)
    else:
        sentences = train
    cut = sum(len(sentence) + 1 > length for sentence in sentences)
    unk_rate = unknown_share(sentences, vocab)
    if cut:
        log.warning("text: %d of %d %s sentences are longer than %d tokens (end token included) and were cut",
                    cut, len(sentences), request.split, length)
    info = DataInfo("sequence", (length,), extras={
        "tokenizer": TOKENIZER, "unk_rate": unk_rate, "sentences_cut": cut,
        "vocab": vocab, "vocab_size": len(vocab),
        "pad_token": vocab.index(PAD), "start_token": vocab.index(START), "end_token": vocab.index(END),
        "unk_token": vocab.index(UNK),
    })
    return TensorData(encode(sentences, vocab, length), None, info)

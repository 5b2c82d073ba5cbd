"""BLEU and self-BLEU of generated sentences with NLTK's implementation, made fast.

The score is NLTK's ``sentence_bleu`` with smoothing method 1 (Chen & Cherry 2014), averaged
over hypotheses, every held-out sentence a reference: the protocol of the Texygen benchmark.

With thousands of references NLTK spends its time counting n-grams of references that cannot
change the score. BLEU needs, per hypothesis n-gram, only its largest count in any single
reference, plus the reference length closest to the hypothesis'. :class:`ReferenceIndex`
finds, for each hypothesis, a handful of references holding all those maxima and one of the
closest length; NLTK then scores against them, and the result equals NLTK's score against
all references exactly (checked in the tests).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from nltk.util import ngrams

SMOOTHING = "nltk SmoothingFunction().method1"
_smoothing = SmoothingFunction().method1


class ReferenceIndex:
    """For each n-gram (n <= max_n): the two references with the most occurrences of it."""

    def __init__(self, references: Sequence[Sequence[str]], max_n: int) -> None:
        self.references = [list(r) for r in references]
        self.max_n = max_n
        self.best: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        for ref_id, ref in enumerate(self.references):
            for n in range(1, max_n + 1):
                for gram, count in Counter(ngrams(ref, n)).items():
                    top = self.best.setdefault(gram, [])
                    top.append((count, ref_id))
                    if len(top) > 2:
                        top.sort(reverse=True)
                        top.pop()
        self.by_length: dict[int, list[int]] = defaultdict(list)
        for ref_id, ref in enumerate(self.references):
            if len(self.by_length[len(ref)]) < 2:
                self.by_length[len(ref)].append(ref_id)

    def relevant(self, hypothesis: Sequence[str], exclude: int | None = None) -> list[list[str]]:
        """References that give ``hypothesis`` the same BLEU as all of them (``exclude`` left out)."""
        chosen: set[int] = set()
        for n in range(1, self.max_n + 1):
            for gram in set(ngrams(hypothesis, n)):
                for _, ref_id in sorted(self.best.get(gram, ()), reverse=True):
                    if ref_id != exclude:
                        chosen.add(ref_id)
                        break
        hyp_len = len(hypothesis)
        for length in sorted(self.by_length, key=lambda L: (abs(L - hyp_len), L)):  # NLTK's closest length
            others = [i for i in self.by_length[length] if i != exclude]
            if others:
                chosen.add(others[0])
                break
        return [self.references[i] for i in sorted(chosen)]


def weights_for(order: int) -> tuple[float, ...]:
    """Uniform weights of BLEU-order."""
    return tuple(1.0 / order for _ in range(order))


def bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[str]], orders: Sequence[int]) -> dict[int, float]:
    """Mean sentence BLEU of each order for ``hypotheses`` against all ``references``."""
    index = ReferenceIndex(references, max(orders))
    return _mean_bleu(hypotheses, index, orders, self_ids=None)


def self_bleu(sentences: Sequence[Sequence[str]], orders: Sequence[int]) -> dict[int, float]:
    """Mean sentence BLEU of each sentence against all the others (diversity: lower is more diverse)."""
    index = ReferenceIndex(sentences, max(orders))
    return _mean_bleu(sentences, index, orders, self_ids=range(len(sentences)))


def _mean_bleu(hypotheses, index: ReferenceIndex, orders: Sequence[int], self_ids) -> dict[int, float]:
    totals = dict.fromkeys(orders, 0.0)
    scored = 0
    for i, hyp in enumerate(hypotheses):
        scored += 1
        if not hyp:  # an empty sentence scores 0
            continue
        refs = index.relevant(hyp, exclude=None if self_ids is None else i)
        for order in orders:
            totals[order] += sentence_bleu(refs, list(hyp), weights_for(order), smoothing_function=_smoothing)
    return {order: totals[order] / max(scored, 1) for order in orders}

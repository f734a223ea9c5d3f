"""bAbI samples as integer tensors for a memory network.

Words are lower-case runs of letters and digits (``"Where is Mary?"`` -> where, is, mary); index 0
is the padding word. A multi-word answer is one output word, its parts comma-joined.
Memories are stored most recent first: slot 0 holds the last statement before the question, so
the slot is also the temporal index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def build_vocabulary(*sample_lists) -> list[str]:
    """Every word of the memories, questions and answers, sorted; entry 0 is the padding ``""``."""
    seen = set()
    for samples in sample_lists:
        for memories, question, answer, _ in samples:
            for text in (*memories, question):
                seen.update(words(text))
            seen.add(",".join(answer))
    return [""] + sorted(seen)


@dataclass
class Encoded:
    stories: np.ndarray    #: (N, M, J) int64 word ids, slot 0 the most recent statement
    queries: np.ndarray    #: (N, J) int64
    answers: np.ndarray    #: (N,) int64
    supports: list         #: per sample, the slots of its supporting statements (those in memory)


def encode(samples, vocabulary: list[str], memory_size: int = 50, sentence_words: int | None = None) -> Encoded:
    """Encode ``samples`` (:func:`snnsim.babi.samples`), keeping the last ``memory_size`` statements."""
    index = {w: i for i, w in enumerate(vocabulary)}
    if sentence_words is None:
        sentence_words = max(len(words(t)) for m, q, _, _ in samples for t in (*m[-memory_size:], q))
    n = len(samples)
    stories = np.zeros((n, memory_size, sentence_words), np.int64)
    queries = np.zeros((n, sentence_words), np.int64)
    answers = np.zeros(n, np.int64)
    supports = []
    for s, (memories, question, answer, support) in enumerate(samples):
        kept = memories[-memory_size:]
        for slot, text in enumerate(reversed(kept)):
            ids = [index[w] for w in words(text)][:sentence_words]
            stories[s, slot, :len(ids)] = ids
        ids = [index[w] for w in words(question)][:sentence_words]
        queries[s, :len(ids)] = ids
        answers[s] = index[",".join(answer)]
        supports.append(tuple(len(memories) - 1 - i for i in support if len(memories) - 1 - i < memory_size))
    return Encoded(stories, queries, answers, supports)

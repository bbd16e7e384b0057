"""Tokens and features of the injection classifier, shared by training and inference.

Features are word unigrams and bigrams over normalised, lower-cased text (punctuation
marks are tokens of their own, so ``<|im_start|>`` and ``###`` count). A text is scored as
a series of overlapping windows of ``WINDOW`` tokens; a window's feature vector is its
counts divided by the square root of its length (``norm``). Because that is linear in the counts,
the model's score of every window comes from one prefix sum over per-token weights:
O(tokens) for the whole text, so a sentence buried in a long document is scored as if it
stood alone, without re-reading the document per window.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

__all__ = ["MAX_TOKEN", "MIN_NORM", "STRIDE", "WINDOW", "norm", "token_features", "tokens", "windows"]

WINDOW = 48
STRIDE = 16
MIN_NORM = 8  # windows shorter than this are normalised as if this long
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
MAX_TOKEN = 24


def tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; very long tokens are cut (hashes, base64)."""
    found = _TOKEN.findall(text.lower())
    if max(map(len, found), default=0) <= MAX_TOKEN:  # most texts: no loop in Python
        return found
    return [t if len(t) <= MAX_TOKEN else t[:MAX_TOKEN] for t in found]


def token_features(toks: list[str]) -> Iterator[list[str]]:
    """For each token position, the features that end there: the unigram and the bigram."""
    previous = "<s>"
    for token in toks:
        yield [token, previous + " " + token]
        previous = token


def norm(length: int) -> float:
    """The divisor of a window's counts. Floored, so that one odd token ("Hello!", "[]")
    in a very short text cannot weigh as much as a whole sentence."""
    return math.sqrt(max(length, MIN_NORM))


def windows(count: int) -> list[tuple[int, int]]:
    """The [start, end) token windows a text of ``count`` tokens is scored in."""
    if count <= WINDOW:
        return [(0, count)]
    spans = [(start, start + WINDOW) for start in range(0, count - WINDOW + 1, STRIDE)]
    if spans[-1][1] < count:
        spans.append((count - WINDOW, count))
    return spans

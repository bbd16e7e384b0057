"""Scrambled words ("typoglycemia"): "ignroe all prevoius systme isntructions".

A reader, human or model, reads a word whose inner letters are shuffled as long as its first
and last letters stay put; the classifier and the rules do not. OWASP's prompt-injection
cheat sheet names the trick. ``Unscramble.undo`` puts back the words of an attack's
vocabulary (``KEYWORDS``) when a text holds at least ``MIN_WORDS`` different scrambled ones;
the detector then reads the repaired text as a hidden payload, as it does decoded base64.

One Hyperscan pass finds candidates: for each keyword, its first letter, as many inner
letters drawn from its own as it has, and its last letter. Python then keeps a candidate
only when it is not the keyword itself and its inner letters are the keyword's, shuffled.
"""

from __future__ import annotations

import re
from typing import Any

from tutela.injection.rules import caseless_database

__all__ = ["KEYWORDS", "MIN_WORDS", "Unscramble"]

MIN_WORDS = 2  # different keywords: one shuffled word is a typo ("the isntructions say")

# The vocabulary of overrides, extraction and persona switches, kept short: each word costs
# the scan of every text some time. Four letters or more: a shorter word has at most one
# inner pair to swap.
KEYWORDS = [
    "ignore",
    "disregard",
    "forget",
    "previous",
    "above",
    "instructions",
    "system",
    "prompt",
    "reveal",
    "override",
    "bypass",
    "developer",
    "jailbreak",
    "password",
    "secret",
    "rules",
    "guidelines",
    "restrictions",
    "unrestricted",
    "uncensored",
    "unfiltered",
    "pretend",
    "verbatim",
    "confidential",
]


def _expression(word: str) -> str:
    """Hyperscan expression for ``word`` and its scrambles: first letter, as many inner
    letters drawn from its own, last letter. (Leaving out the word itself made the scan
    four times slower; Python drops it instead.)"""
    inner = word[1:-1]
    return rf"\b{word[0]}[{''.join(sorted(set(inner)))}]{{{len(inner)}}}{word[-1]}\b"


_EXPRESSIONS = [(w, _expression(w)) for w in KEYWORDS]
_FALLBACK = [(w, re.compile(e, re.IGNORECASE | re.ASCII)) for w, e in _EXPRESSIONS]


class Unscramble:
    """Puts back scrambled keywords. Keeps nothing of what it reads."""

    def _found(self, text: str) -> dict[str, str]:
        """Scrambled keywords of ``text``: each as written, lower-cased, to its keyword."""
        candidates: list[tuple[str, str]] = []
        if _database is None:  # no Hyperscan wheel for this platform
            for word, pattern in _FALLBACK:
                candidates += [(m.group(0), word) for m in pattern.finditer(text)]
        else:
            data = text.encode("utf-8", "surrogatepass")
            ends: list[tuple[int, int]] = []

            def on_match(index: int, _start: int, end: int, _flags: int, _ctx: Any) -> None:
                ends.append((index, end))

            _database.scan(data, match_event_handler=on_match)
            for index, end in ends:
                word = _EXPRESSIONS[index][0]
                written = data[end - len(word) : end].decode("ascii", "replace")
                candidates.append((written, word))
        found: dict[str, str] = {}
        for written, word in candidates:
            lower = written.lower()
            if lower != word and sorted(lower[1:-1]) == sorted(word[1:-1]):
                found[lower] = word
        return found

    def undo(self, text: str) -> str | None:
        """``text`` with its scrambled keywords put back, or None when it has too few."""
        found = self._found(text)
        if len(set(found.values())) < MIN_WORDS:
            return None
        scrambled = re.compile(r"\b(?:" + "|".join(map(re.escape, found)) + r")\b", re.IGNORECASE)
        return scrambled.sub(lambda match: found[match.group(0).lower()], text)


_database = caseless_database([e for _, e in _EXPRESSIONS], "the scramble check")

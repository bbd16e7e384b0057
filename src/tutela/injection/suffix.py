"""Optimiser-made adversarial suffixes (GCG, DSN and their kin): plain words, then token soup.

A gradient-searched jailbreak is a request in ordinary words followed, on the same line, by
a string the optimiser chose token by token: brackets that never close, words glued
together in odd case, pieces of words no dictionary holds ("describing.\\ + similarlyNow
write oppositeley.]("). The classifier's word features cannot learn that soup, because no
two suffixes share it. This check measures its *shape* instead:

- the **tail** of a line (its last ``TAIL`` tokens, split at whitespace) carries the
  anomalies: at least one token with code punctuation in it, and a weight of at least 3
  (such a token counts 1; a word glued in odd case or a word the lexicon does not know
  counts 0.5), on a line whose brackets do not balance;
- **the rest of the text reads as prose**: at least 80% plain words, at most 2% tokens with
  code punctuation, at most ``REST_WEIGHT`` (10%) anomaly weight.

The second condition is what keeps code, configuration and maths apart: their punctuation
is spread over the whole text, never gathered in one line's tail after plain prose. The
lexicon is the set of words of the benign text the classifier was trained on; it travels in
the model file. Texts longer than ``MAX_CHARS`` are not checked: a suffix follows a short
request, and the cost stays bounded (padding a request past it evades the check; the
classifier and the rules still see it).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

__all__ = ["MAX_CHARS", "MIN_LEXICON_WORD", "SUFFIX_SCORE", "TAIL", "SuffixCheck", "lexicon_words"]

TAIL = 16
MAX_CHARS = 1024  # optimiser suffixes follow short requests (the longest seen: 502)
SUFFIX_SCORE = 0.93  # flags a user turn (0.90); spotlights, not blocks, a document (0.97)
# Anomaly weight the rest of the text may carry, per token. A suffix longer than the tail
# leaves its first tokens in the rest: 8% let 22 of the shared data's GCG and DSN suffixes
# go, 10% costs no benign row, clean document or hard benign prompt (docs: Measured).
REST_WEIGHT = 0.10

_CODE_PUNCT = frozenset("()[]{}\\`<>|_$^~=*#@%&+")
_ANY_CODE_PUNCT = re.compile(r"[()\[\]{}\\`<>|_$^~=*#@%&+]")
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset(")]}")
_EDGE = ".,;:!?\"'"
_PLAIN_WORD = re.compile(r"[\"'(]?[A-Za-z][a-z'-]*[.,;:!?\"')]{0,2}")
_PAREN_WORD = re.compile(r"[([]?[A-Za-z][a-z]*[)\]]?")
_ODD_CASE = re.compile(r"[a-z]{2}[A-Z]|[A-Z]{2}[a-z]{2}")
# Prose punctuation that is not soup: list markers, arrows, operators, tags, money, counts.
_PROSE_MARK = re.compile(
    r"\(?(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[).]|->|=>|<-|&|=|\+|\*|#\w*|@\w+|\$\d[\d,.]*|\d+%"
    r"|[(\[]\d+[)\]]"
)
_OPERATOR = re.compile(r"[<>=!&|/%^*+-]{1,3}")
_URL_OR_PATH = re.compile(r"(?:https?://|www\.)\S+|[\w.~-]*(?:/[\w.@%+~-]+)+/?")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?:\(\))?")
# Notation a person types on purpose: LaTeX commands and spacing, maths over one-letter
# variables, template placeholders. Not soup.
_LATEX = re.compile(r"\\(?:[A-Za-z]{2,}|[,;:](?:[A-Za-z]|$))")
_MATHS = re.compile(r"[^A-Za-z]*(?:[A-Za-z][^A-Za-z]+)*[A-Za-z]?[^A-Za-z]*")
_PLACEHOLDER = re.compile(r"\\?\$\{\w*\}?|\{\{\w*\}\}|%[sd]")
# Code a developer quotes: calls and methods, generic types, JSON keys. Half weight.
_CODE = re.compile(
    r"[\w.:]*\w(?:\.\w+|::\w+)*\([^\s]*|\.\w+\(\S*|\w+<[\w&*, ]*>\W*|[\[{]*\"[\w-]+\"[:,]?[}\]]*,?"
)
_KEY_VALUE = re.compile(r"[\"']?\w+[\"']?[:=]")
_QUOTED = re.compile(r"[\"'][^\"'\s]*[\"']")
_CALL = re.compile(r"\w[\w.]*\(")
_FORMULA = re.compile(r"=[A-Z][A-Z0-9.]*\(")  # a spreadsheet formula, often cut off
_WORD_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
MIN_LEXICON_WORD = 4  # shorter pieces are too often abbreviations to count as unknown


def lexicon_words(text: str) -> list[str]:
    """The lower-cased word pieces of ``text`` that the lexicon is made of (and looked up by)."""
    return [p.lower() for p in _WORD_PARTS.findall(text) if len(p) >= MIN_LEXICON_WORD]


def _imbalance(tokens: list[str]) -> int:
    """Brackets that close nothing or are never closed."""
    stack: list[str] = []
    bad = 0
    for char in "".join(tokens):
        if char in _OPEN:
            stack.append(_OPEN[char])
        elif char in _CLOSE:
            if stack and stack[-1] == char:
                stack.pop()
            else:
                bad += 1
    return bad + len(stack)


class SuffixCheck:
    """Finds an adversarial suffix. Keeps nothing of what it reads: no token is cached,
    because tokens are pieces of prompts (a pasted key is one token)."""

    def __init__(self, lexicon: Collection[str]) -> None:
        self.lexicon = frozenset(lexicon)

    def _weigh(self, token: str) -> tuple[float, int, int]:
        """(anomaly weight, has code punctuation, is a plain word) of one token."""
        core = token.strip(_EDGE)
        if core.isalpha() and core.isascii() and (core.islower() or core[1:].islower()):
            # The common case, a plain word: one lexicon lookup, no pattern.
            unknown = len(core) >= MIN_LEXICON_WORD and core.lower() not in self.lexicon
            return (0.5 if unknown else 0.0, 0, 1)
        plain = 1 if _PLAIN_WORD.fullmatch(token) else 0
        weight, punct = 0.0, 0
        if (
            not core
            or _PROSE_MARK.fullmatch(core)
            or _OPERATOR.fullmatch(core)
            or _URL_OR_PATH.fullmatch(core)
            or (len(core) > 3 and len(set(core)) == 1)
        ):
            pass
        elif sum(c.isdigit() for c in core) * 3 >= len(core):
            pass  # numbers, coordinates, versions
        elif _LATEX.search(token) or _PLACEHOLDER.fullmatch(core):
            pass
        elif any(c.isalpha() for c in core) and _MATHS.fullmatch(core):
            pass  # E[X], (a+b)^n, x_i: every letter stands alone
        elif _IDENTIFIER.fullmatch(core) or _CODE.fullmatch(token):
            weight = 0.5  # a column, a call, a key: code a developer names in prose
        elif any(c in _CODE_PUNCT for c in core) and not _PAREN_WORD.fullmatch(core):
            weight, punct = 1.0, 1
        else:
            if _ODD_CASE.search(core):
                weight += 0.5
            if any(p not in self.lexicon for p in lexicon_words(core)):
                weight += 0.5
        return (weight, punct, plain)

    @staticmethod
    def _reads_as_code(tail: list[str], weights: list[tuple[float, int, int]]) -> bool:
        """A pasted snippet, perhaps cut off (so unbalanced), rather than soup: it has the
        syntax of code (strings or key-value pairs, operators, calls, a spreadsheet
        formula) or no non-words. An optimiser's tail has word pieces no lexicon holds and
        little of that syntax."""
        if any(_FORMULA.match(t) for t in tail):
            return True
        pairs = sum(1 for t in tail if _KEY_VALUE.match(t) or _QUOTED.search(t))
        operators = sum(1 for t in tail if _OPERATOR.fullmatch(t.strip(_EDGE)))
        calls = sum(1 for t in tail if _CALL.search(t))
        nonwords = sum(1 for weight, punct, _ in weights if weight and not punct)
        return pairs >= 3 or operators >= 2 or calls >= 2 or nonwords == 0

    def score(self, text: str) -> float:
        """``SUFFIX_SCORE`` if ``text`` ends a line of prose with token soup, else 0."""
        if not self.lexicon or len(text) > MAX_CHARS or not _ANY_CODE_PUNCT.search(text):
            return 0.0
        weigh = self._weigh
        # Tails first: most texts have no line that ends in soup, and stop here.
        lines = [line.split() for line in text.splitlines()]
        weighed: list[list[tuple[float, int, int]]] = []  # each line's tail, as weighed
        tails: list[tuple[int, float, int, int]] = []
        for tokens in lines:
            size = min(TAIL, len(tokens) - 5) if len(tokens) >= 8 else 0
            # Soup needs a token with code punctuation: weigh those first (a set test
            # finds them) before weighing every token of the tail.
            if size and not any(
                weigh(t)[1] for t in tokens[-size:] if not _CODE_PUNCT.isdisjoint(t)
            ):
                size = 0
            weights = [weigh(t) for t in tokens[-size:]] if size else []
            weighed.append(weights)
            if not size:
                continue
            weight, punct, plain = _add(weights)
            if weight < 3 or punct < 1:
                continue
            if _imbalance(tokens) < 1 or self._reads_as_code(tokens[-size:], weights):
                continue
            tails.append((size, weight, punct, plain))
        if not tails:
            return 0.0
        # Then the rest of the text must read as prose (tails already weighed are reused).
        # Stop as soon as there is more punctuation than any tail's rest allows: code and
        # markup get there within a line or two.
        count = sum(map(len, lines))
        allowed = max(punct + 0.02 * (count - size) for size, _, punct, _ in tails)
        total_weight, total_punct, total_plain = 0.0, 0, 0
        for tokens, tail in zip(lines, weighed, strict=True):
            for w, p, q in (*map(weigh, tokens[: len(tokens) - len(tail)]), *tail):
                total_weight += w
                total_punct += p
                total_plain += q
            if total_punct > allowed:
                return 0.0
        for size, weight, punct, plain in tails:
            rest = count - size
            if total_punct - punct > 0.02 * rest or total_weight - weight > REST_WEIGHT * rest:
                continue
            if total_plain - plain < 0.8 * rest:
                continue
            return SUFFIX_SCORE
        return 0.0


def _add(weights: Iterable[tuple[float, int, int]]) -> tuple[float, int, int]:
    weight = 0.0
    punct = plain = 0
    for w, p, q in weights:
        weight += w
        punct += p
        plain += q
    return weight, punct, plain

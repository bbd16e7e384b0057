"""The ``Detector`` type: one pattern, how to confirm it, and which class it reports.

A detector is data, not code: a regular expression written in the subset both engines
share (Python ``re`` with ``re.ASCII`` and Hyperscan), an optional validator run only on
candidates, optional context words, and a score. Adding a detector means adding one
entry to ``builtin.DETECTORS`` (or one policy-file entry for a custom detector).

Pattern rules, checked by the tests:

- no unbounded repetition (every ``*``/``+`` has a bounded alternative) so the
  pure-Python engine stays linear in the input;
- lookarounds only as boundaries (they are stripped for Hyperscan, which must then find
  a superset of what Python finds), and lookaheads read at most 16 characters;
- a detector may give Hyperscan a short *anchor* instead (``hs_pattern``) with how far the
  real match can reach before and after it (``anchor_before``/``anchor_after``); a
  context-required detector is anchored on its context words automatically;
- no ``^``/``$``; whitespace written as ``[ \\t]`` rather than ``\\s``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from re import _parser as _re_parser  # type: ignore[attr-defined]

Refine = Callable[[str, bool], "tuple[int, int, float] | None"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Detector:
    """One pattern and how to turn its matches into spans."""

    name: str
    cls: str
    pattern: str
    score: float
    group: int | str = 0
    validator: Callable[[str], bool] | None = None
    classify: Callable[[str], str | None] | None = None
    refine: Refine | None = None
    context: tuple[str, ...] = ()
    context_required: bool = False
    context_before: int = 48
    context_after: int = 16
    exclude_context: tuple[str, ...] = ()
    caseless: bool = False
    hs_pattern: str | None = None
    anchor_before: int = 0
    anchor_after: int = 0
    priority: int = 0

    def python_regex(self) -> re.Pattern[str]:
        flags = re.ASCII | (re.IGNORECASE if self.caseless else 0)
        return re.compile(self.pattern, flags)

    def hyperscan_expression(self) -> bytes:
        return (self.hs_pattern or strip_lookarounds(self.pattern)).encode("utf-8")

    def max_width(self) -> int:
        """The longest match the Python pattern can make (bounded by the pattern rules)."""
        return max_width(self.pattern)

    def context_regex(self) -> re.Pattern[str] | None:
        return _words_regex(self.context)

    def exclude_regex(self) -> re.Pattern[str] | None:
        return _words_regex(self.exclude_context, whole=True)


def _words_regex(words: tuple[str, ...], whole: bool = False) -> re.Pattern[str] | None:
    """Context words, case-insensitive, at a word start (and end, when ``whole``)."""
    if not words:
        return None
    return re.compile(words_pattern(words, whole), re.IGNORECASE | re.ASCII)


def words_pattern(words: tuple[str, ...], whole: bool = False) -> str:
    """Alternation of ``words``; words of four letters or fewer must end at a word end
    (``tel`` is not ``television``), longer ones may be prefixes (``diagnos`` ...)."""
    alternatives = "|".join(
        re.escape(w) + (r"\b" if (whole or len(w) <= 4) and w[-1:].isalnum() else "")
        for w in sorted(words, key=len, reverse=True)
    )
    return rf"(?<![A-Za-z0-9])(?:{alternatives})"


def max_width(pattern: str) -> int:
    """Longest possible match of ``pattern`` in characters; ``UNBOUNDED`` if unlimited."""
    width = int(_re_parser.parse(pattern).getwidth()[1])
    return UNBOUNDED if width >= UNBOUNDED else width


UNBOUNDED = 1 << 31


def strip_lookarounds(pattern: str) -> str:
    """The pattern with every ``(?=..)``, ``(?!..)``, ``(?<=..)`` and ``(?<!..)`` removed.

    Removing a lookaround can only widen what a pattern matches, so Hyperscan running the
    stripped pattern finds a superset of the candidates Python would find; Python then
    confirms each candidate region with the full pattern.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            depth, j, in_class = 0, i, False
            while j < n:
                ch = pattern[j]
                if ch == "\\":
                    j += 2
                    continue
                if in_class:
                    in_class = ch != "]"
                elif ch == "[":
                    in_class = True
                    if pattern.startswith("[]", j) or pattern.startswith("[^]", j):
                        j += 2 if pattern[j + 1] == "]" else 3
                        continue
                elif ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            i = j + 1
            continue
        if pattern[i] == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if pattern[i] == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i : j + 1])
            i = j + 1
            continue
        out.append(pattern[i])
        i += 1
    return "".join(out)

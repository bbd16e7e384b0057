"""The two ways tutela finds pattern matches: one Hyperscan database, or Python ``re``.

Both engines yield the same thing: for each detector, the ``re.Match`` objects of its full
Python pattern over the text, exactly as ``pattern.finditer(text)`` would. The Python
engine does just that for every detector. The Hyperscan engine compiles one *anchor* per
detector (by default the pattern with its lookarounds stripped, a superset; for
context-required detectors, the context words) into one database, scans the UTF-8 bytes
once, turns each hit into a character region guaranteed to contain every real match, and
runs the full Python pattern only inside those regions. Text with no candidates costs one
Hyperscan pass.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from tutela.detectors.registry import (
    UNBOUNDED,
    Detector,
    max_width,
    strip_lookarounds,
    words_pattern,
)

_LOOKAHEAD = 16
_SURROGATE = re.compile("[\ud800-\udfff]")

_hs: Any
try:  # pragma: no cover - which branch runs depends on the platform
    import hyperscan

    _hs = hyperscan
    HYPERSCAN_ERROR = ""
except Exception as exc:  # pragma: no cover - no wheel for this platform
    _hs = None
    HYPERSCAN_ERROR = f"{type(exc).__name__}: {exc}"


def hyperscan_available() -> bool:
    return _hs is not None


class Engine(Protocol):
    name: str

    def matches(self, text: str) -> Iterable[tuple[int, re.Match[str]]]:
        """(detector index, match) for every match of every detector."""
        ...


class PythonEngine:
    """Every detector's pattern run with Python ``re`` over the whole text."""

    name = "python"

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self._regexes = [d.python_regex() for d in detectors]

    def matches(self, text: str) -> Iterator[tuple[int, re.Match[str]]]:
        for index, regex in enumerate(self._regexes):
            for match in regex.finditer(text):
                yield index, match


def _char_offsets(data: bytes, offsets: list[int]) -> dict[int, int]:
    """Byte offset -> str index for sorted ``offsets``, in one linear pass over ``data``.

    An offset inside a multi-byte character maps to the end of that character.
    """
    result: dict[int, int] = {}
    prev = 0
    chars = 0
    n = len(data)
    for off in offsets:
        b = min(off, n)
        while b < n and 0x80 <= data[b] < 0xC0:
            b += 1
        if b > prev:
            chars += len(data[prev:b].decode("utf-8"))
            prev = b
        result[off] = chars
    return result


@dataclass(frozen=True, slots=True)
class _Anchor:
    expression: bytes
    caseless: bool
    before: int  # how far before the anchor's start a real match may begin
    after: int  # how far after the anchor's end a real match may end
    window: int  # the longest real match (for the confirmation window)


def _anchor(d: Detector) -> _Anchor:
    width = d.max_width()
    if d.hs_pattern is None and d.context_required and d.context:
        words = strip_lookarounds(words_pattern(d.context))
        starts_with_word = all(w[:1].isalnum() for w in d.context)
        return _Anchor(
            # the Python side's (?<![A-Za-z0-9]): "_" is a boundary too (SUPPORT_PHONE=...)
            expression=(("(?:^|[^A-Za-z0-9])" if starts_with_word else "") + words).encode(),
            caseless=True,
            before=d.context_after + width,
            after=d.context_before + width,
            window=width,
        )
    expression = (d.hs_pattern or strip_lookarounds(d.pattern)).encode("utf-8")
    return _Anchor(expression, d.caseless, d.anchor_before, d.anchor_after, width)


@lru_cache(maxsize=1024)
def _som_supported(expression: bytes, flags: int) -> bool:
    """Whether Hyperscan can track the start of match for ``expression``."""
    assert _hs is not None
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    try:
        db.compile(
            expressions=[expression], ids=[0], elements=1, flags=[flags | _hs.HS_FLAG_SOM_LEFTMOST]
        )
    except _hs.error:
        return False
    return True


class HyperscanEngine:
    """One Hyperscan block-mode database for all detectors, confirmed with Python ``re``."""

    name = "hyperscan"

    def __init__(self, detectors: Sequence[Detector]) -> None:
        if _hs is None:  # pragma: no cover
            raise RuntimeError(f"hyperscan cannot be imported: {HYPERSCAN_ERROR}")
        self._regexes = [d.python_regex() for d in detectors]
        self._anchors = [_anchor(d) for d in detectors]
        flags: list[int] = []
        self._som: list[bool] = []
        self._anchor_width: list[int] = []
        for a in self._anchors:
            base = _hs.HS_FLAG_ALLOWEMPTY | (_hs.HS_FLAG_CASELESS if a.caseless else 0)
            som = _som_supported(a.expression, base)
            self._som.append(som)
            flags.append(base | (_hs.HS_FLAG_SOM_LEFTMOST if som else 0))
            self._anchor_width.append(
                UNBOUNDED if som else max_width(a.expression.decode("latin-1"))
            )
        self._db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[a.expression for a in self._anchors],
            ids=list(range(len(detectors))),
            elements=len(detectors),
            flags=flags,
        )
        self._scratch = _hs.Scratch(self._db)
        self._local = threading.local()
        # Per detector, what turning a hit into a region needs, in one tuple (fewer lookups
        # in the per-hit loop): reach before, reach after, and for an anchor without start
        # of match its width (UNBOUNDED: the region starts at 0), else -1.
        self._reach: list[tuple[int, int, int]] = [
            (a.before, a.after, -1 if som else width)
            for a, som, width in zip(self._anchors, self._som, self._anchor_width, strict=True)
        ]
        self._windows = [a.window for a in self._anchors]

    def _hits(self, data: bytes) -> list[tuple[int, int, int]]:
        hits: list[tuple[int, int, int]] = []
        append = hits.append

        def on_match(index: int, start: int, end: int, _flags: int, _ctx: Any) -> None:
            append((index, start, end))

        # Scratch space is per thread: one clone per thread keeps a shared Scanner safe.
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._scratch.clone()
        self._db.scan(data, match_event_handler=on_match, scratch=scratch)
        return hits

    def matches(self, text: str) -> list[tuple[int, re.Match[str]]]:
        """Like ``Engine.matches`` but a list: one call, no generator frames per match."""
        if text.isascii():
            hits = self._hits(text.encode("ascii"))
            if not hits:
                return []
            to_char = None
        else:
            safe = _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text
            data = safe.encode("utf-8")
            hits = self._hits(data)
            if not hits:
                return []
            wanted: set[int] = set()
            for index, start, end in hits:
                wanted.add(end)
                wanted.add(start if self._som[index] else max(0, end - self._anchor_width[index]))
            to_char = _char_offsets(data, sorted(wanted))
        n = len(text)
        reach = self._reach
        regions: list[tuple[int, int, int]] = []
        append = regions.append
        for index, start, end in hits:
            before, after, width = reach[index]
            if width >= 0:
                start = end - width if width < UNBOUNDED and end > width else 0
            if to_char is not None:
                start, end = to_char[start], to_char[end]
            start -= before
            end += after
            append((index, start if start > 0 else 0, end if end < n else n))
        regions.sort()
        out: list[tuple[int, re.Match[str]]] = []
        current, lo, hi = -1, 0, 0
        for index, start, end in regions:
            if index == current and start <= hi:
                if end > hi:
                    hi = end
                continue
            if current >= 0:
                self._confirm(out, current, text, n, lo, hi)
            current, lo, hi = index, start, end
        self._confirm(out, current, text, n, lo, hi)
        return out

    def _confirm(
        self, out: list[tuple[int, re.Match[str]]], index: int, text: str, n: int, lo: int, hi: int
    ) -> None:
        """Append to ``out`` every match of detector ``index`` that starts in ``lo..hi``."""
        regex = self._regexes[index]
        end = hi + _LOOKAHEAD
        # Cheap pass first: the window ends just past the region. A match that runs past
        # the region's end can only be an artefact of that cut (every real match lies
        # inside the region), so from its start on, redo the pass with the full window.
        for match in regex.finditer(text, lo, end if end < n else n):
            if match.end() > hi:
                pos = match.start()
                break
            out.append((index, match))
        else:
            return
        window = self._windows[index]
        endpos = n if window >= UNBOUNDED else min(n, hi + window + _LOOKAHEAD)
        for match in regex.finditer(text, pos, endpos):
            if match.start() > hi:
                break
            out.append((index, match))

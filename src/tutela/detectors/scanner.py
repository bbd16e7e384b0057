"""``Scanner``: every detector in one pass over a string, returning sorted spans.

Build one ``Scanner`` from a ``ScannerConfig`` at start-up and share it: it is immutable
after construction and safe to call from many threads. ``scan`` keeps nothing of the
text after it returns.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tutela.asciify import ascii_forms
from tutela.detectors import builtin
from tutela.detectors.edm import EdmMatcher
from tutela.detectors.engines import (
    HYPERSCAN_ERROR,
    Engine,
    HyperscanEngine,
    PythonEngine,
    hyperscan_available,
)
from tutela.detectors.registry import Detector, Refine
from tutela.detectors.spans import Span
from tutela.detectors.validators import VALIDATORS, Validator

MAX_SCAN_CHARS = 8_000_000
"""Strings longer than this are scanned in overlapping windows of this size."""
_WINDOW_OVERLAP = 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomDetector:
    """A policy-file detector: a regex, an optional named validator and context words."""

    cls: str
    pattern: str
    validator: str | None = None
    context: tuple[str, ...] = ()
    context_required: bool = False
    score: float = 0.9
    caseless: bool = False

    def to_detector(self, index: int) -> Detector:
        if self.validator is not None and self.validator not in VALIDATORS:
            raise ValueError(
                f"custom detector {self.cls!r}: unknown validator {self.validator!r}; "
                f"choose one of: {', '.join(sorted(VALIDATORS))}"
            )
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"custom detector {self.cls!r}: bad pattern: {exc}") from None
        return Detector(
            name=f"custom.{index}.{self.cls}",
            cls=self.cls,
            pattern=self.pattern,
            score=self.score,
            validator=VALIDATORS[self.validator] if self.validator else None,
            context=self.context,
            context_required=self.context_required or bool(self.context),
            caseless=self.caseless,
            priority=1,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeywordList:
    """Whole words or phrases that mark text as class ``cls`` (project code names...)."""

    cls: str
    words: tuple[str, ...]
    caseless: bool = True
    score: float = 0.9

    def to_detector(self, index: int) -> Detector:
        words = "|".join(re.escape(w) for w in sorted(set(self.words), key=len, reverse=True) if w)
        if not words:
            raise ValueError(f"keyword list {self.cls!r} is empty")
        return Detector(
            name=f"keywords.{index}.{self.cls}",
            cls=self.cls,
            pattern=rf"(?<![A-Za-z0-9_])(?:{words})(?![A-Za-z0-9_])",
            score=self.score,
            caseless=self.caseless,
            priority=1,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScannerConfig:
    """What to look for. Every field has a safe default: all built-in classes on."""

    enabled: tuple[str, ...] = ("*",)
    disabled: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    custom: tuple[CustomDetector, ...] = ()
    keywords: tuple[KeywordList, ...] = ()
    edm: tuple[Path, ...] = ()
    edm_pepper: bytes = b""
    min_score: float = 0.5
    engine: str = "auto"  # "auto" | "hyperscan" | "python"
    extra_detectors: tuple[Detector, ...] = field(default=())


def class_enabled(cls: str, enabled: Sequence[str], disabled: Sequence[str] = ()) -> bool:
    """Whether ``cls`` matches a pattern in ``enabled`` (wildcards) and none in ``disabled``."""
    return any(fnmatch.fnmatchcase(cls, p) for p in enabled) and not any(
        fnmatch.fnmatchcase(cls, p) for p in disabled
    )


_Rank = tuple[float, int, int, int, str]
"""A candidate span as ``_resolve`` ranks it: (-score, -priority, -length, start, cls)."""
_Candidate = tuple[_Rank, "Validator | None", str]
"""A span before overlaps are resolved: its rank, the validator still to run, the value."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A detector's fields as ``_candidates`` reads them, flattened (one lookup each)."""

    group: int | str
    cls: str
    score: float
    priority: int
    validator: Validator | None
    # None when the detector has no classify, exclude, context, refine nor EDM step
    steps: _Steps | None


@dataclass(frozen=True, slots=True)
class _Steps:
    classify: Callable[[str], str | None] | None
    exclude: re.Pattern[str] | None
    context: re.Pattern[str] | None
    context_required: bool
    context_before: int
    context_after: int
    refine: Refine | None
    edm: EdmMatcher | None


def _prepare(d: Detector, edm: EdmMatcher | None) -> _Prepared:
    context, exclude = d.context_regex(), d.exclude_regex()
    steps = None
    if d.classify or exclude or context or d.refine or edm:
        steps = _Steps(
            d.classify,
            exclude,
            context,
            d.context_required,
            d.context_before,
            d.context_after,
            d.refine,
            edm,
        )
    return _Prepared(d.group, d.cls, d.score, d.priority, d.validator, steps)


class Scanner:
    """All detectors compiled once; ``scan(text)`` returns sorted, non-overlapping spans."""

    engine: str
    engine_note: str

    def __init__(self, config: ScannerConfig | None = None) -> None:
        self.config = config = config or ScannerConfig()
        detectors: list[Detector] = list(builtin.DETECTORS)
        detectors.append(
            builtin.internal_host_detector(builtin.INTERNAL_SUFFIXES + config.internal_domains)
        )
        detectors.extend(c.to_detector(i) for i, c in enumerate(config.custom))
        detectors.extend(k.to_detector(i) for i, k in enumerate(config.keywords))
        detectors.extend(config.extra_detectors)
        self._edm = [EdmMatcher.load(p, pepper=config.edm_pepper) for p in config.edm]
        for matcher in self._edm:
            detectors.append(matcher.candidate_detector())
        self._edm_by_name = {m.detector_name: m for m in self._edm}
        classes = {d.cls for d in detectors} | {"net.internal_ip"}
        # net.ip_address and net.internal_ip come from one pattern: keep it if either is on.
        keep = {c for c in classes if class_enabled(c, config.enabled, config.disabled)}
        if "net.internal_ip" in keep or "net.ip_address" in keep:
            keep.add("net.ip_address")
        detectors = [d for d in detectors if d.cls in keep or d.name in self._edm_by_name]
        names = [d.name for d in detectors]
        if len(names) != len(set(names)):
            raise ValueError("duplicate detector names")
        self.classes = frozenset(keep)
        self._ip_classes = {c for c in ("net.internal_ip", "net.ip_address") if c in keep}
        self._detectors = [_prepare(d, self._edm_by_name.get(d.name)) for d in detectors]
        self._engine: Engine
        wanted = config.engine
        if wanted not in ("auto", "hyperscan", "python"):
            raise ValueError(f"engine must be auto, hyperscan or python, not {wanted!r}")
        if wanted != "python" and hyperscan_available():
            self._engine = HyperscanEngine(detectors)
            self.engine_note = f"hyperscan: one database of {len(detectors)} patterns"
        elif wanted == "hyperscan":
            raise RuntimeError(f"hyperscan requested but unavailable: {HYPERSCAN_ERROR}")
        else:
            self._engine = PythonEngine(detectors)
            reason = (
                "requested" if wanted == "python" else f"hyperscan unavailable ({HYPERSCAN_ERROR})"
            )
            self.engine_note = f"python re fallback ({reason}): {len(detectors)} patterns"
        self.engine = self._engine.name

    def scan(self, text: str) -> list[Span]:
        """Every finding in ``text``, sorted by start, with overlaps resolved."""
        if not text:
            return []
        # A card number spaced with no-break spaces, or typed in full-width digits, is a card
        # number: the patterns, and Hyperscan, see ASCII (one for one: offsets stay true).
        text = ascii_forms(text)
        if len(text) <= MAX_SCAN_CHARS:
            return _resolve(self._candidates(text, 0))
        found: list[_Candidate] = []
        step = MAX_SCAN_CHARS - _WINDOW_OVERLAP
        for base in range(0, len(text), step):
            found.extend(self._candidates(text[base : base + MAX_SCAN_CHARS], base))
        return _resolve(found)

    def _candidates(self, text: str, base: int) -> list[_Candidate]:
        """Every match as a candidate span. A detector's validator is not run here: it is
        a pure yes/no on the value, so ``_resolve`` runs it only for a candidate that no
        higher-ranked span has already covered (a phone pattern inside a card number)."""
        out: list[_Candidate] = []
        append = out.append
        n = len(text)
        min_score = self.config.min_score
        detectors = self._detectors
        for index, match in self._engine.matches(text):
            prep = detectors[index]
            group = prep.group
            start, end = match.span(group)
            if start < 0 or start == end:
                continue
            value = match.group(group)
            cls = prep.cls
            score = prep.score
            steps = prep.steps
            if steps is not None:
                if steps.classify is not None:
                    found = steps.classify(value)
                    if found is None or (found not in self._ip_classes and cls == "net.ip_address"):
                        continue
                    cls = found
                if steps.exclude is not None and _context_near(
                    steps.exclude, text, n, match, 40, 0
                ):
                    continue
                context = False
                if steps.context is not None:
                    context = _context_near(
                        steps.context, text, n, match, steps.context_before, steps.context_after
                    )
                    if steps.context_required and not context:
                        continue
                    if context and not steps.context_required:
                        score = min(1.0, score + 0.04)
                if steps.refine is not None:
                    refined = steps.refine(value, context)
                    if refined is None:
                        continue
                    rs, re_, score = refined
                    start, end = start + rs, start + re_
                if steps.edm is not None and not steps.edm.contains(value):
                    continue
            if score < min_score:
                continue
            start += base
            end += base
            if not (0 <= start < end and 0.0 <= score <= 1.0):
                Span(cls=cls, start=start, end=end, score=score)  # raises, as it always did
            # the rank ``_resolve`` sorts by: higher score, priority, length first
            append(((-score, -prep.priority, start - end, start, cls), prep.validator, value))
        return out


# "No." / "Nr." (number) do not end a sentence: "licence no. D1234567" keeps its context
_BREAK = re.compile(r"(?<!\b[Nn][or])\.[ \t]|[!?;][ \t]|\n|\r|\|")


def _context_near(
    words: re.Pattern[str], text: str, n: int, match: re.Match[str], before: int, after: int
) -> bool:
    """A context word shortly before (or after) the match, in the same sentence or line."""
    start, end = match.start(), match.end()
    lo = max(0, start - before)
    found = None
    for found in words.finditer(text, lo, start):  # noqa: B007 - the last one is nearest
        pass
    if found is not None and not _BREAK.search(text, found.end(), start):
        return True
    if after:
        later = words.search(text, end, min(n, end + after))
        if later is not None and not _BREAK.search(text, end, later.start()):
            return True
    return False


def _resolve(candidates: list[_Candidate]) -> list[Span]:
    """Drop overlapping spans: higher score wins, then more specific, then longer.

    Candidates are taken best first; one that overlaps a span already kept is dropped
    without running its validator (it would be dropped whatever the validator says), one
    that does not is kept if its validator (if any) accepts the value. Candidates with the
    same span and priority are one: kept if any of their validators accepts.
    """
    if not candidates:
        return []
    checks: dict[_Rank, list[tuple[Validator, str]] | None] = {}
    for rank, validator, value in candidates:
        if validator is None:
            checks[rank] = None
        elif rank not in checks:
            checks[rank] = [(validator, value)]
        else:
            pending = checks[rank]
            if pending is not None:
                pending.append((validator, value))
    kept: list[Span] = []
    starts: list[int] = []
    ends: list[int] = []
    for rank in sorted(checks):
        neg_score, _priority, neg_length, start, cls = rank
        end = start - neg_length
        i = bisect.bisect_right(starts, start)
        if i > 0 and ends[i - 1] > start:
            continue
        if i < len(starts) and starts[i] < end:
            continue
        pending = checks[rank]
        if pending is not None:
            for validator, value in pending:
                if validator(value):
                    break
            else:
                continue
        kept.insert(i, Span(cls=cls, start=start, end=end, score=-neg_score))
        starts.insert(i, start)
        ends.insert(i, end)
    return kept

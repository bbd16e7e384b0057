"""The injection detector: normalise, match rules, score with the model, decide per source.

``Detector.analyse(text)`` gives an ``Analysis`` (score, model score, rule hits, what
normalisation undid) that does not depend on where the text came from, and is cached by
content hash, so a conversation's unchanged history is not rescanned turn after turn.
``Detector.scan(text, source, thresholds)`` turns it into a ``Detection``: flagged when
the score reaches the threshold for the source. Untrusted sources (``document``,
``tool_result``) have lower thresholds than a user's own words: the same sentence is more
suspicious inside a fetched page than in the user's own question.

Scores combine as a noisy-or of the model's score and the rules' (see ``_rule_score``). Text
hidden from humans (Unicode tags, decoded base64 or hex) or from the classifier (stuttered
or scrambled words, repaired by ``stutter.py`` and ``scramble.py``) is analysed on its own
too and, if it reads as an injection, reported as ``inj.invisible`` or ``inj.encoded``.

Never logs, never keeps text: the cache holds digests and numbers only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tutela.digests import DigestCache, KeyedDigest
from tutela.injection.gloss import Glossary, shipped_glossary
from tutela.injection.model import Model, shipped_gloss_model, shipped_model
from tutela.injection.normalise import Normalised, normalise
from tutela.injection.pdf import pdf_text
from tutela.injection.rules import RuleHit, match_gloss, match_rules
from tutela.injection.scramble import Unscramble
from tutela.injection.stutter import Destutter
from tutela.injection.suffix import SuffixCheck

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SOURCES",
    "TRANSLATED_ID",
    "Analysis",
    "Detection",
    "Detector",
    "Source",
    "shared_detector",
]

Source = Literal["user", "document", "tool_result"]
SOURCES: tuple[Source, ...] = ("user", "document", "tool_result")

DEFAULT_THRESHOLDS: Mapping[Source, float] = {"user": 0.90, "document": 0.75, "tool_result": 0.75}
"""Chosen by ``bench/injection_eval.py`` (see docs/guards/injection.md for the figures)."""

_CACHE_SIZE = 8192
TRANSLATED_ID = "inj.translated"  # the English gloss of another language scored higher
_WEAK_DISGUISE = 0.5  # model score that, with stray zero-width characters, lifts to 0.97
_PAYLOAD_SCORE = 0.5  # a hidden payload that scores this much is reported as an attack
# The gloss model's log-odds are raised by this much: a gloss is broken English, and the
# model reads attacks in it as less certain than in English (on blind sets 8-11, 87 of 572
# attacks typed by users scored 0.8-0.9, and 4 of 573 look-alikes). Chosen on sets 1-11 and
# on 4,800 program messages in 12 languages (docs/guards/injection.md, Measured).
GLOSS_SHIFT = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """What the detector concluded about a text, whatever its source. Never the text."""

    score: float
    model_score: float
    rules: tuple[RuleHit, ...] = ()
    zero_width: int = 0
    bidi: int = 0
    tags: int = 0
    homoglyphs: int = 0
    encoded: int = 0
    language: str = ""  # the language glossed into English for the model, if any

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(sorted({hit.id for hit in self.rules}))


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """An analysis judged for one source: ``flagged`` when ``score >= threshold``."""

    analysis: Analysis
    source: Source
    threshold: float
    flagged: bool
    cached: bool = False

    @property
    def score(self) -> float:
        return self.analysis.score

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return self.analysis.rule_ids


def _noisy_or(a: float, b: float) -> float:
    return 1.0 - (1.0 - a) * (1.0 - b)


_STRONG_RULE = 0.9


def _shifted(score: float, shift: float) -> float:
    """``score`` moved by ``shift`` on the log-odds scale."""
    if not shift or score <= 0.0 or score >= 1.0:
        return score
    return 1.0 / (1.0 + math.exp(-(math.log(score / (1.0 - score)) + shift)))


def _rule_score(hits: list[RuleHit]) -> float:
    """The strongest rule, or stronger when several *strong* families agree.

    Two different families (an instruction override and a role switch, say) are two pieces
    of evidence, so their scores combine as a noisy-or. Weak patterns (below 0.9) never
    combine: alone they must not flag, only add to the classifier's score."""
    strongest = max((h.score for h in hits), default=0.0)
    families: dict[str, float] = {}
    for hit in hits:
        if hit.score >= _STRONG_RULE:
            families[hit.id] = max(families.get(hit.id, 0.0), hit.score)
    combined = 0.0
    for score in families.values():
        combined = _noisy_or(combined, score)
    return max(strongest, combined)


class Detector:
    """Rules plus the shipped model, with a content-hash verdict cache."""

    def __init__(
        self,
        model: Model | None = None,
        *,
        cache_size: int = _CACHE_SIZE,
        glossary: Glossary | None = None,
        gloss_model: Model | None = None,
    ) -> None:
        self.model = model or shipped_model()
        # Glosses are read by a model that also learned from glossed text (a gloss's word
        # order is not English's), when one ships with the shipped model; else by the model.
        if gloss_model is None and self.model is shipped_model():
            gloss_model = shipped_gloss_model()
        self.gloss_model = gloss_model or self.model
        self.gloss_shift = GLOSS_SHIFT
        if glossary is None:
            shipped = shipped_glossary()
            glossary = Glossary(shipped.dictionaries, english=self.model.lexicon)
        self.glossary = glossary
        self._suffix = SuffixCheck(self.model.lexicon)
        self._destutter = Destutter(self.model.lexicon)
        self._unscramble = Unscramble()
        # Build the rule databases now, not on a request: about a second for the text's,
        # and another for the glosses' (the first text in another language waited 1.3 s).
        match_rules("")
        match_gloss("")
        self._cache: DigestCache[Analysis] = DigestCache(cache_size)
        # A PDF's analysis, or False when it cannot be read, under its data's digest: the
        # extraction is the cost, and a conversation replays its PDFs every turn.
        self._pdf_cache: DigestCache[Analysis | bool] = DigestCache(max(1, cache_size // 8))
        self._digest = KeyedDigest()
        self.hits = 0
        self.misses = 0

    def _judge(self, norm: Normalised) -> tuple[float, float, list[RuleHit]]:
        model_score = self.model.score(norm.text)
        hits = match_rules(norm.text)
        return model_score, max((h.score for h in hits), default=0.0), hits

    def letter_repairs(self, text: str) -> tuple[str | None, str | None]:
        """Letter noise a reader sees through, put right: ``text`` with its stuttered words
        collapsed, then with its scrambled keywords put back (each None when not needed)."""
        stuttered = self._destutter.undo(text)
        return stuttered, self._unscramble.undo(stuttered or text)

    def analyse_uncached(self, text: str) -> Analysis:
        norm = normalise(text)
        model_score, rule_score, hits = self._judge(norm)
        extra: list[RuleHit] = []
        for index, payload in enumerate(norm.payloads):
            inner = normalise(payload)
            inner_model, inner_rule, _ = self._judge(inner)
            inner_score = _noisy_or(inner_model, inner_rule)
            if inner_score >= _PAYLOAD_SCORE:
                family = "inj.invisible" if index == 0 and norm.tags else "inj.encoded"
                extra.append(RuleHit(id=family, score=max(0.95, inner_score), start=-1, end=-1))
        stuttered, unscrambled = self.letter_repairs(norm.text)
        repaired_score = 0.0
        if stuttered is not None or unscrambled is not None:
            inner_model, inner_rule, _ = self._judge(normalise(unscrambled or stuttered or ""))
            inner_score = _noisy_or(inner_model, inner_rule)
            # The repair must be what makes the text read as an injection.
            if inner_score >= _PAYLOAD_SCORE and inner_score > _noisy_or(model_score, rule_score):
                if stuttered is not None:  # three stuttered words are a disguise, not typos
                    extra.append(
                        RuleHit(id="inj.encoded", score=max(0.95, inner_score), start=-1, end=-1)
                    )
                else:  # shuffled letters can be typos: the repaired text's score, no more
                    repaired_score = inner_score
        if norm.tags and not any(h.id == "inj.invisible" for h in extra):
            extra.append(RuleHit(id="inj.invisible", score=0.8, start=-1, end=-1))
        if norm.zero_width >= 2 or norm.bidi:
            # Hidden characters inside words: suspicious alone, damning with anything else.
            base = 0.6 if norm.zero_width >= 2 else 0.4
            extra.append(RuleHit(id="inj.invisible", score=base, start=-1, end=-1))
        if norm.homoglyphs and max(model_score, rule_score) >= 0.3:
            extra.append(RuleHit(id="inj.homoglyph", score=0.9, start=-1, end=-1))
        suffix = self._suffix.score(norm.text)
        if suffix:
            hits.append(RuleHit(id="inj.adversarial_suffix", score=suffix, start=-1, end=-1))
        hits += extra
        rule_score = _rule_score(hits)
        # Obfuscation plus any other signal: the disguise is the evidence. A few stray
        # zero-width characters (pasted web text has them) need a firmer other signal.
        score = _noisy_or(model_score, rule_score)
        weak = all(h.id == "inj.invisible" and h.score < 0.8 for h in extra)
        other = len(hits) > len(extra) or model_score >= (_WEAK_DISGUISE if weak else 0.3)
        if extra and other:
            score = max(score, 0.97)
        if repaired_score > score:
            score = repaired_score
            hits.append(RuleHit(id="inj.encoded", score=repaired_score, start=-1, end=-1))
        # Another language: the model (and the English rules) read its English gloss too.
        glossed = self.glossary.gloss(norm.text)
        language = ""
        if glossed is not None:
            language, english, _ = glossed
            # The gloss is lower-cased ASCII-or-kept text of an already normalised one.
            gloss_model = _shifted(self.gloss_model.score(english), self.gloss_shift)
            gloss_hits = match_gloss(english)
            gloss_score = _noisy_or(gloss_model, _rule_score(gloss_hits))
            if gloss_score > score:
                score = gloss_score
                if gloss_score >= _PAYLOAD_SCORE:  # evidence worth naming in the audit trail
                    hits.append(RuleHit(id=TRANSLATED_ID, score=gloss_score, start=-1, end=-1))
        return Analysis(
            score=round(score, 4),
            model_score=round(model_score, 4),
            rules=tuple(hits),
            zero_width=norm.zero_width,
            bidi=norm.bidi,
            tags=norm.tags,
            homoglyphs=norm.homoglyphs,
            encoded=norm.encoded,
            language=language,
        )

    def analyse(self, text: str) -> tuple[Analysis, bool]:
        """The analysis of ``text`` and whether it came from the cache."""
        key = self._digest(text)
        found = self._cache.get(key)
        if found is not None:
            self.hits += 1
            return found, True
        self.misses += 1
        analysis = self.analyse_uncached(text)
        self._cache.put(key, analysis)
        return analysis, False

    def scan(
        self,
        text: str,
        source: Source = "user",
        thresholds: Mapping[Source, float] | None = None,
    ) -> Detection:
        analysis, cached = self.analyse(text)
        return _judged(analysis, source, thresholds, cached)

    def analyse_pdf(self, data: str) -> tuple[Analysis | None, bool]:
        """The analysis of the text layer of base64 PDF ``data`` (None when it cannot be
        read) and whether it came from the cache."""
        key = self._digest("\x00pdf\x00" + data)
        found = self._pdf_cache.get(key)
        if found is not None:
            self.hits += 1
            return (None if isinstance(found, bool) else found), True
        self.misses += 1
        text = pdf_text(data)
        analysis = None if text is None else self.analyse_uncached(text)
        self._pdf_cache.put(key, False if analysis is None else analysis)
        return analysis, False

    def scan_pdf(
        self,
        data: str,
        source: Source = "document",
        thresholds: Mapping[Source, float] | None = None,
        analysed: tuple[Analysis | None, bool] | None = None,
    ) -> Detection | None:
        """``scan`` of the text layer of base64 PDF ``data``, or of what ``analyse_pdf``
        already gave for it; None when it cannot be read."""
        analysis, cached = analysed or self.analyse_pdf(data)
        return None if analysis is None else _judged(analysis, source, thresholds, cached)


def _judged(
    analysis: Analysis, source: Source, thresholds: Mapping[Source, float] | None, cached: bool
) -> Detection:
    threshold = (thresholds or DEFAULT_THRESHOLDS)[source]
    return Detection(
        analysis=analysis,
        source=source,
        threshold=threshold,
        flagged=analysis.score >= threshold,
        cached=cached,
    )


_SHARED: Detector | None = None
_SHARED_LOCK = threading.Lock()


def shared_detector() -> Detector:
    """One detector (model and cache) per process."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = Detector()
        return _SHARED

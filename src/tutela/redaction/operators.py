"""Operators and the policy that picks one per finding class.

A policy maps class patterns (``fnmatch`` wildcards) to actions::

    {"pii.email": "pseudonymise", "secret.*": "block", "*": "allow"}

The most specific pattern wins: an exact class beats a wildcard, and a longer wildcard
beats a shorter one (``secret.aws_*`` beats ``secret.*`` beats ``*``). A class no pattern
matches is allowed. ``apply_policy`` returns the new text plus per-class counts and the
action taken for each class — never the values.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tutela.detectors.spans import Span
from tutela.redaction.vault import Vault

ACTIONS = ("allow", "mask", "redact", "pseudonymise", "block")
_ORDER = {a: i for i, a in enumerate(ACTIONS)}


def resolve_action(cls: str, policy: Mapping[str, str]) -> str:
    """The action for ``cls`` under ``policy`` (most specific matching pattern wins)."""
    exact = policy.get(cls)
    if exact is not None:
        return _checked(exact)
    best: tuple[int, int, str] | None = None
    for pattern, action in policy.items():
        if fnmatch.fnmatchcase(cls, pattern):
            specificity = (len(pattern) - pattern.count("*") - pattern.count("?"), len(pattern))
            if best is None or specificity > best[:2]:
                best = (*specificity, action)
    return _checked(best[2]) if best else "allow"


def _checked(action: str) -> str:
    if action == "pseudonymize":
        return "pseudonymise"
    if action not in _ORDER:
        raise ValueError(f"unknown action {action!r}; choose one of: {', '.join(ACTIONS)}")
    return action


def mask(value: str, keep: int = 4, char: str = "*") -> str:
    """Every letter and digit but the last ``keep`` replaced; separators stay."""
    alnum = sum(ch.isalnum() for ch in value)
    hide = max(alnum - keep, 0) if alnum > keep else alnum
    out: list[str] = []
    for ch in value:
        if ch.isalnum() and hide > 0:
            out.append(char)
            hide -= 1
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactionResult:
    """The transformed text and what was done, per class. Holds no original values."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)

    @property
    def blocked_classes(self) -> tuple[str, ...]:
        return tuple(sorted(c for c, a in self.actions.items() if a == "block"))

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_classes)

    @property
    def changed(self) -> bool:
        return any(a in ("mask", "redact", "pseudonymise") for a in self.actions.values())

    def __repr__(self) -> str:  # the text may still hold allowed values: keep it out
        return f"RedactionResult(counts={self.counts!r}, actions={self.actions!r})"


def apply_policy(
    text: str,
    spans: Sequence[Span],
    policy: Mapping[str, str],
    vault: Vault | None = None,
) -> RedactionResult:
    """Apply ``policy`` to ``spans`` of ``text`` (sorted, non-overlapping, from ``Scanner``).

    ``pseudonymise`` needs the conversation's ``vault``. When any class is blocked the text
    is returned unchanged: the caller refuses the request, naming ``blocked_classes``.
    """
    counts: dict[str, int] = {}
    actions: dict[str, str] = {}
    for span in spans:
        counts[span.cls] = counts.get(span.cls, 0) + 1
        if span.cls not in actions:
            actions[span.cls] = resolve_action(span.cls, policy)
    if any(a == "block" for a in actions.values()):
        return RedactionResult(text=text, counts=counts, actions=actions)
    pieces: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        action = actions[span.cls]
        if action == "allow" or span.start < pos:
            continue
        value = text[span.start : span.end]
        if action == "mask":
            replacement = mask(value)
        elif action == "redact":
            replacement = f"[REDACTED:{span.cls}]"
        else:  # pseudonymise
            if vault is None:
                raise ValueError("pseudonymise needs the conversation's Vault")
            replacement = vault.placeholder(span.cls, value)
        pieces.append(text[pos : span.start])
        pieces.append(replacement)
        pos = span.end
    if not pieces:
        return RedactionResult(text=text, counts=counts, actions=actions)
    pieces.append(text[pos:])
    return RedactionResult(text="".join(pieces), counts=counts, actions=actions)

"""The nouns every part of tutela shares: Exchange, Principal, Verdict, Finding, Usage.

This module owns the vocabulary only. It must never import from other tutela modules
except ``errors``, and must never hold request content beyond the life of one Exchange.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from tutela.errors import ErrorKind
from tutela.randomness import random_hex


class Action(enum.Enum):
    """What a guard decided about an exchange."""

    ALLOW = "allow"
    TRANSFORM = "transform"
    BLOCK = "block"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """Something a guard found. Carries where and how sure, never the matched text."""

    cls: str
    pointer: str = ""
    start: int = -1
    end: int = -1
    score: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamEvent:
    """One server-sent event of a streamed response.

    ``raw`` is the exact bytes received (relayed unchanged unless a guard transforms the
    event); ``data`` is the parsed JSON payload, or None when it is not JSON.
    """

    event: str
    data: dict[str, Any] | None
    raw: bytes

    @classmethod
    def of(cls, event: str, data: dict[str, Any]) -> StreamEvent:
        """A new event with its wire bytes (``event: ...`` / ``data: ...``) encoded."""
        raw = b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
        return cls(event=event, data=data, raw=raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A guard's decision. Build with the named constructors, never positionally.

    A transform carries either ``body`` (the new request body, message, or event payload)
    or, for a streamed event only, ``events``: the events to send in its place (none, one
    or several, e.g. held-back text followed by the original event).
    """

    action: Action
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    error: ErrorKind | None = None
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    events: tuple[StreamEvent, ...] | None = None

    @classmethod
    def allow(cls, reason: str = "", *findings: Finding) -> Verdict:
        return cls(action=Action.ALLOW, reason=reason, findings=findings)

    @classmethod
    def transform(cls, reason: str, body: dict[str, Any], *findings: Finding) -> Verdict:
        return cls(action=Action.TRANSFORM, reason=reason, body=body, findings=findings)

    @classmethod
    def replace_events(cls, reason: str, *events: StreamEvent) -> Verdict:
        """Send ``events`` (possibly none) instead of the streamed event being checked."""
        return cls(action=Action.TRANSFORM, reason=reason, events=events)

    @classmethod
    def block(
        cls,
        reason: str,
        *findings: Finding,
        error: ErrorKind = ErrorKind.POLICY_VIOLATION,
        retry_after: float | None = None,
    ) -> Verdict:
        return cls(
            action=Action.BLOCK,
            reason=reason,
            findings=findings,
            error=error,
            retry_after=retry_after,
        )

    @property
    def blocked(self) -> bool:
        return self.action is Action.BLOCK


ALLOW = Verdict.allow()


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is calling: resolved from an API key (later also an SSO session)."""

    key_id: str
    workspace_id: str
    workspace: str
    role: str
    name: str = ""
    # model patterns this caller may use beyond the policy's own (empty: no extra limit);
    # set for Claude Code gateway tokens from the person's IdP groups
    allowed_models: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class Usage:
    """Token counts for one request, merged from message_start and message_delta."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def merge(self, usage: dict[str, Any] | None) -> None:
        """Merge an Anthropic ``usage`` object; later cumulative values win when present."""
        if not usage:
            return
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ):
            value = usage.get(name)
            if isinstance(value, int) and value >= 0:
                setattr(self, name, value)

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardRecord:
    """One guard's verdict on one exchange, as it goes to the audit trail."""

    guard: str
    phase: str
    action: str
    reason: str
    classes: tuple[str, ...]
    error: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DataProtectionSummary:
    """What data protection found in a request: per-class counts and actions, never values."""

    classes: Mapping[str, int]
    actions: Mapping[str, str]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {"classes": dict(self.classes), "actions": dict(self.actions)}


@dataclass(slots=True, kw_only=True)
class InjectionSummary:
    """What injection defence saw in one exchange: scores, rule ids, actions, never text.

    ``sources`` maps a source (``user``, ``document``, ``tool_result``) to how many parts
    were scanned and flagged and the highest score; ``rules`` counts rule ids over flagged
    and unflagged parts; ``cached`` counts parts whose verdict came from the content-hash
    cache (unchanged history); ``actions`` lists what was done (``flag``, ``spotlight``,
    ``block``); ``canary`` is ``planted`` or ``leaked`` when a canary was used; ``output``
    lists output-validation findings (``tool.not_allowed``, ``link.image``...);
    ``unreadable`` counts PDF documents whose text could not be read.
    """

    sources: dict[str, dict[str, float]] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    cached: int = 0
    actions: list[str] = field(default_factory=list)
    flagged: bool = False
    max_score: float = 0.0
    canary: str = ""
    output: list[str] = field(default_factory=list)
    unreadable: int = 0  # PDF documents whose text could not be read, so not scanned

    def header(self) -> str:
        """The ``x-tutela-injection`` annotation: what was flagged, never any text.

        Empty when nothing was flagged or annotated. Set on JSON responses (after output
        validation) and on streams (request-side findings only: headers go out first).
        """
        parts: list[str] = []
        if self.flagged:
            parts.append(f"flagged; score={self.max_score:.2f}")
            if self.rules:
                parts.append("rules=" + ",".join(sorted(self.rules)))
        if self.unreadable:
            parts.append(f"unreadable_pdf={self.unreadable}")
        if self.output:
            parts.append("output=" + ",".join(sorted(set(self.output))))
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "flagged": self.flagged,
            "max_score": round(self.max_score, 4),
            "sources": self.sources,
            "rules": dict(sorted(self.rules.items())),
            "cached": self.cached,
            "actions": sorted(set(self.actions)),
        }
        if self.canary:
            out["canary"] = self.canary
        if self.output:
            out["output"] = sorted(set(self.output))
        if self.unreadable:
            out["unreadable"] = self.unreadable
        return out


def new_request_id() -> str:
    """A sortable, unguessable id the user can quote: ``req_tut_`` + time + randomness."""
    return f"req_tut_{time.time_ns() // 1_000_000:011x}{random_hex(10)}"


@dataclass(slots=True, kw_only=True)
class Exchange:
    """One request and its response, with everything guards learned on the way.

    Per-request state (findings, pseudonym vault, guard scratch) lives here and dies with
    it, so nothing can leak from one caller's exchange into another's. ``data_protection``
    is the typed audit slot the ``dlp`` guard fills (counts and actions, never values);
    ``injection`` the one the ``injection`` and ``output`` guards fill (scores, rule ids).
    """

    request_id: str
    endpoint: str
    method: str
    headers: dict[str, str]
    raw_body: bytes
    body: dict[str, Any] | None = None
    principal: Principal | None = None
    client_ip: str = ""
    started_ns: int = field(default_factory=time.perf_counter_ns)
    usage: Usage = field(default_factory=Usage)
    records: list[GuardRecord] = field(default_factory=list)
    scratch: dict[str, Any] = field(default_factory=dict)
    data_protection: DataProtectionSummary | None = None
    injection: InjectionSummary | None = None
    upstream_status: int = 0
    status: int = 0
    outcome: str = "pending"
    error_type: str = ""

    @property
    def stream(self) -> bool:
        return bool(self.body and self.body.get("stream") is True)

    @property
    def model(self) -> str:
        model = self.body.get("model") if self.body else None
        return model if isinstance(model, str) else ""

"""Audit events: one documented dataclass per event type, stored as JSON rows.

The OCSF rendering, hash chain and exporters build on these (see the audit issue).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

import orjson

from tutela.types import Exchange


def new_event_uid() -> str:
    return "evt_" + os.urandom(12).hex()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """Something that happened, attributed to an actor, in a workspace."""

    event_type: str
    outcome: str
    actor: str = ""
    workspace_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    uid: str = field(default_factory=new_event_uid)
    ts: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def row(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "ts": self.ts,
            "event_type": self.event_type,
            "workspace_id": self.workspace_id,
            "actor": self.actor,
            "outcome": self.outcome,
            "data": orjson.dumps(self.data, option=orjson.OPT_SORT_KEYS).decode(),
        }


def request_event(exchange: Exchange, duration_ms: int) -> AuditEvent:
    """``api.request``: one per API request, with every guard verdict and token counts.

    Carries the request id (the audit id users quote), endpoint, model, status, outcome,
    the error type when refused, usage, and each guard's action, reason and finding
    classes. When data protection scanned the request, ``dlp`` holds the classes found with
    their counts and the action taken for each (``{"classes": {"pii.email": 3},
    "actions": {"pii.email": "pseudonymise"}}``). Never the prompt, the response, a
    matched value or the key.
    """
    principal = exchange.principal
    event = AuditEvent(
        event_type="api.request",
        outcome=exchange.outcome,
        actor=principal.key_id if principal else "",
        workspace_id=principal.workspace_id if principal else None,
        data={
            "request_id": exchange.request_id,
            "endpoint": exchange.endpoint,
            "model": exchange.model,
            "stream": exchange.stream,
            "status": exchange.status,
            "upstream_status": exchange.upstream_status,
            "error_type": exchange.error_type,
            "client_ip": exchange.client_ip,
            "duration_ms": duration_ms,
            "usage": {
                "input_tokens": exchange.usage.input_tokens,
                "output_tokens": exchange.usage.output_tokens,
                "cache_creation_input_tokens": exchange.usage.cache_creation_input_tokens,
                "cache_read_input_tokens": exchange.usage.cache_read_input_tokens,
            },
            "verdicts": [
                {
                    "guard": record.guard,
                    "phase": record.phase,
                    "action": record.action,
                    "reason": record.reason,
                    "classes": list(record.classes),
                    "error": record.error,
                }
                for record in exchange.records
            ],
        },
    )
    if exchange.data_protection is not None:
        event.data["dlp"] = exchange.data_protection.as_dict()
    return event


def key_event(action: str, key: dict[str, Any], actor: str, workspace_id: str | None) -> AuditEvent:
    """``api_key.created`` / ``api_key.revoked``: the key's id, role and workspace, never its secret."""
    return AuditEvent(
        event_type=f"api_key.{action}",
        outcome="success",
        actor=actor,
        workspace_id=workspace_id,
        data={"key": {k: v for k, v in key.items() if k != "secret"}},
    )


def workspace_event(action: str, name: str, workspace_id: str, actor: str) -> AuditEvent:
    """``workspace.created``: a workspace came into being."""
    return AuditEvent(
        event_type=f"workspace.{action}",
        outcome="success",
        actor=actor,
        workspace_id=workspace_id,
        data={"workspace": name},
    )


def sign_in_event(
    action: str,
    outcome: str,
    *,
    actor: str,
    source_ip: str,
    provider: str,
    reason: str = "",
    session_id: str = "",
    mfa: bool | None = None,
) -> AuditEvent:
    """``auth.sign_in`` / ``auth.sign_out`` on the admin port: who (email, or ``unknown``
    when refused before the identity was proven), from which IP, through which identity
    provider (``oidc:<name>``, ``saml:<name>``, ``break_glass``), and for a refusal the
    reason. Never a token, code, assertion or password."""
    return AuditEvent(
        event_type=f"auth.{action}",
        outcome=outcome,
        actor=actor,
        data={
            "source_ip": source_ip,
            "provider": provider,
            "reason": reason,
            "session_id": session_id,
            "mfa": mfa,
        },
    )


def access_change_event(
    event_type: str,
    *,
    actor: str,
    workspace_id: str | None,
    source_ip: str = "",
    provider: str = "",
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """A change to who may do what: ``api_key.created|rotated|revoked``,
    ``member.added|changed|removed``, ``workspace.created``, ``user.created``. Carries the
    actor, the target's id, the state before and after (never a secret), the source IP and
    the actor's identity provider."""
    def clean(state: dict[str, Any] | None) -> dict[str, Any] | None:
        if state is None:
            return None
        return {k: v for k, v in state.items() if k not in ("secret", "key", "secret_sha256")}

    return AuditEvent(
        event_type=event_type,
        outcome="success",
        actor=actor,
        workspace_id=workspace_id,
        data={
            "target": target,
            "before": clean(before),
            "after": clean(after),
            "source_ip": source_ip,
            "provider": provider,
        },
    )


def admin_denied_event(
    *,
    actor: str,
    workspace_id: str | None,
    source_ip: str,
    provider: str,
    method: str,
    route: str,
    reason: str,
) -> AuditEvent:
    """``admin.denied``: an authenticated caller was refused an admin action (a missing
    permission, another workspace, or an attempt to grant a role stronger than its own)."""
    return AuditEvent(
        event_type="admin.denied",
        outcome="failure",
        actor=actor,
        workspace_id=workspace_id,
        data={
            "method": method,
            "route": route,
            "reason": reason,
            "source_ip": source_ip,
            "provider": provider,
        },
    )

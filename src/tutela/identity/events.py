"""Identity's audit events, built from the OCSF classes in ``audit/events.py``.

Sign-ins, sign-outs and Claude Code token grants become ``Authentication`` events; key,
member, user and workspace changes the matching Entity Management events (before and
after, never a secret); refused admin calls ``AdminDenied``. Callers name the actor as
audit rows do: an email for a person, ``key:<id>`` for an API key, ``cli`` for the host
operator, ``bootstrap`` for first start.
"""

from __future__ import annotations

from typing import Any

from tutela.audit.events import (
    Actor,
    AdminDenied,
    ApiKeyChange,
    AuditEvent,
    Authentication,
    MembershipChange,
    UserChange,
    WorkspaceChange,
    cli_actor,
)

_AUTH_ACTIVITIES = {
    "sign_in": "login",
    "sign_out": "logout",
    "device_approved": "device_approved",
    "token_issued": "token_issued",
    "token_refresh": "token_refreshed",
}


def actor_of(label: str, provider: str = "", session: str = "") -> Actor:
    """The audit ``Actor`` for an actor label (email, ``key:<id>``, ``cli``, ``bootstrap``)."""
    if label.startswith("key:"):
        return Actor(kind="api_key", uid=label.removeprefix("key:"))
    if label == "cli":
        return cli_actor()
    if label in ("bootstrap", "tutela"):
        return Actor(kind="system", uid=label)
    return Actor(
        kind="user",
        uid=label,
        email=label if "@" in label else "",
        idp=provider if provider not in ("api_key", "") else "",
        session=session,
    )


def _protocol(provider: str) -> str:
    kind = provider.split(":", 1)[0]
    return kind if kind in ("oidc", "saml") else "local"


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
) -> Authentication:
    """``auth.login`` / ``auth.logout`` on the admin port, and Claude Code's
    ``auth.device_approved`` / ``auth.token_issued`` / ``auth.token_refreshed``: who
    (``unknown`` when refused before the identity was proven), from which IP, through which
    provider, and for a refusal why. Never a token, code, assertion or password."""
    return Authentication(
        activity=_AUTH_ACTIVITIES[action],
        actor=actor_of(actor, provider, session_id),
        outcome=outcome,
        reason=reason,
        src_ip=source_ip,
        protocol=_protocol(provider),
        mfa=mfa,
    )


_CHANGES: dict[str, type[Any]] = {
    "api_key": ApiKeyChange,
    "member": MembershipChange,
    "user": UserChange,
    "workspace": WorkspaceChange,
}


def change_event(
    event_type: str,
    *,
    actor: str,
    workspace_id: str | None,
    source_ip: str = "",
    provider: str = "",
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    correlation_uid: str = "",
) -> AuditEvent:
    """``<family>.<activity>`` for a key, member, user or workspace change."""
    family, _, activity = event_type.partition(".")
    event: AuditEvent = _CHANGES[family](
        activity=activity,
        actor=actor_of(actor, provider),
        workspace_id=workspace_id,
        src_ip=source_ip,
        entity_uid=target,
        before=before,
        after=after,
        correlation_uid=correlation_uid,
    )
    return event


def denied_event(
    *,
    actor: str,
    workspace_id: str | None,
    source_ip: str,
    provider: str,
    method: str,
    route: str,
    reason: str,
) -> AdminDenied:
    return AdminDenied(
        activity="denied",
        actor=actor_of(actor, provider),
        workspace_id=workspace_id,
        outcome="failure",
        reason=reason,
        src_ip=source_ip,
        method=method,
        route=route,
    )

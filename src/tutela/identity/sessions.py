"""Who is calling the admin port: an API key, or a person's sign-in session.

A session token reads ``tutela_ss_<43 b64url>``; the cookie (HttpOnly, SameSite=Lax,
Secure unless policy turns it off for plain-HTTP labs) or an ``Authorization: Bearer``
header carries it, and only its SHA-256 digest is stored. Sessions are looked up on every
admin request (the admin port is not the hot path), so signing out or revoking a session
takes effect at once on every replica.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field

from tutela.identity.roles import OWNER
from tutela.policy import SessionPolicy
from tutela.store.database import KeyRecord, utcnow
from tutela.store.identity import IdentityStore, SessionRecord, UserRecord

SESSION_PREFIX = "tutela_ss_"
_SESSION = re.compile(r"^tutela_ss_[A-Za-z0-9_-]{43}$")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token(prefix: str = SESSION_PREFIX) -> str:
    return prefix + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


def is_session_token(value: str) -> bool:
    return bool(_SESSION.match(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """An authenticated caller of the admin API, and the roles it holds where."""

    kind: str  # "key" or "user"
    id: str  # key id or user id
    label: str  # key id or email: what audit records name as the actor
    provider: str = ""  # "api_key", "oidc:<name>", "saml:<name>", "break_glass"
    org_role: str | None = None
    key_workspace_id: str | None = None
    key_role: str | None = None
    memberships: dict[str, str] = field(default_factory=dict)  # workspace id -> role
    session_id: str = ""

    def role_in(self, workspace_id: str) -> str | None:
        if self.org_role == OWNER:
            return OWNER
        if self.kind == "key":
            return self.key_role if self.key_workspace_id == workspace_id else None
        return self.memberships.get(workspace_id)

    @classmethod
    def of_key(cls, record: KeyRecord) -> Actor:
        return cls(
            kind="key",
            id=record.id,
            label=f"key:{record.id}",
            provider="api_key",
            key_workspace_id=record.workspace_id,
            key_role=record.role,
        )

    @classmethod
    def of_user(
        cls, user: UserRecord, memberships: dict[str, str], session: SessionRecord
    ) -> Actor:
        return cls(
            kind="user",
            id=user.id,
            label=user.email,
            provider=session.idp,
            org_role=user.org_role,
            memberships=memberships,
            session_id=session.id,
        )


def start_session(
    identity: IdentityStore,
    user: UserRecord,
    *,
    provider: str,
    amr: str,
    client_ip: str,
    settings: SessionPolicy,
) -> tuple[str, SessionRecord]:
    """A new session for ``user``: the token (for the cookie, shown nowhere else) and its record."""
    token = new_token()
    record = identity.create_session(
        token_sha256=digest(token),
        user_id=user.id,
        idp=provider,
        amr=amr,
        client_ip=client_ip,
        expires_at=utcnow() + dt.timedelta(hours=settings.ttl_hours),
    )
    return token, record


def resolve_session(identity: IdentityStore, token: str) -> Actor | None:
    """The actor behind a live session token, or None (unknown, expired, revoked, disabled)."""
    if not is_session_token(token):
        return None
    record = identity.find_session(digest(token))
    expected = record.token_sha256 if record is not None else "0" * 64
    if not hmac.compare_digest(digest(token), expected) or record is None:
        return None
    if not record.active(utcnow()) or record.kind != "admin":
        return None
    user = identity.get_user(record.user_id)
    if user is None or user.disabled_at is not None:
        return None
    memberships = {ws: m.role for ws, m in identity.memberships_of(user.id).items()}
    return Actor.of_user(user, memberships, record)


def session_cookie(settings: SessionPolicy, token: str, *, clear: bool = False) -> str:
    """The Set-Cookie value for a session (or one that clears it)."""
    max_age = 0 if clear else int(settings.ttl_hours * 3600)
    parts = [
        f"{settings.cookie_name}={'' if clear else token}",
        "Path=/",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if settings.cookie_secure:
        parts.append("Secure")
    return "; ".join(parts)

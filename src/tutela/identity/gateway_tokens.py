"""Short-lived gateway tokens for Claude Code, bound to one person and one workspace.

An access token reads ``tutela_gt_<43 b64url>`` and lives ``access_token_minutes``; a
refresh token ``tutela_rt_<43 b64url>`` is single use (each refresh rotates it) and lives
``refresh_token_days``. Only SHA-256 digests are stored: access tokens as ``sessions`` rows
of kind ``gateway``, refresh tokens as one-time ``auth_nonces``. On every use the person
must still exist, not be disabled, and hold a role in the bound workspace that may use
Claude; so removing a member or disabling a departed person stops their Claude Code
within the cache lifetime (one second), and their next refresh is refused
(``invalid_grant``), which sends Claude Code back to sign-in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import re
import time
from dataclasses import dataclass

from tutela.identity.roles import MESSAGES_CREATE, Roles
from tutela.identity.sessions import digest, new_token
from tutela.policy import ClaudeCodeSettings
from tutela.store.database import Store, utcnow
from tutela.store.identity import IdentityStore
from tutela.types import Principal

ACCESS_PREFIX = "tutela_gt_"
REFRESH_PREFIX = "tutela_rt_"
_ACCESS = re.compile(r"^tutela_gt_[A-Za-z0-9_-]{43}$")
_REFRESH = re.compile(r"^tutela_rt_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    principal: Principal
    groups: tuple[str, ...]


class TokenRefused(Exception):
    """The grant cannot be honoured; the message is safe to return and to audit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int
    session_id: str
    user_id: str
    email: str
    workspace_id: str

    def __repr__(self) -> str:
        return f"IssuedTokens(session_id={self.session_id!r}, tokens='***')"

    def body(self) -> dict[str, object]:
        out: dict[str, object] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            out["refresh_token"] = self.refresh_token
        return out


def usable_workspace(
    identity: IdentityStore, store: Store, roles: Roles, user_id: str, preferred: str
) -> str | None:
    """The workspace a new token is bound to: ``preferred`` when the person may use Claude
    there, else the first (by name) where they may; None when there is none."""
    memberships = identity.memberships_of(user_id)
    names = {w.id: w.name for w in store.list_workspaces()}
    usable = sorted(
        (names[ws], ws)
        for ws, m in memberships.items()
        if ws in names and roles.permits(m.role, MESSAGES_CREATE)
    )
    for name, ws in usable:
        if name == preferred:
            return ws
    return usable[0][1] if usable else None


def issue(
    store: Store,
    settings: ClaudeCodeSettings,
    *,
    user_id: str,
    email: str,
    workspace_id: str,
    provider: str,
    client_ip: str,
    groups: tuple[str, ...] = (),
) -> IssuedTokens:
    identity = IdentityStore(store)
    access = new_token(ACCESS_PREFIX)
    minutes = settings.access_token_minutes
    session = identity.create_session(
        token_sha256=digest(access),
        user_id=user_id,
        idp=provider,
        amr="",
        client_ip=client_ip,
        expires_at=utcnow() + dt.timedelta(minutes=minutes),
        kind="gateway",
        workspace_id=workspace_id,
        groups=json.dumps(list(groups)),
    )
    refresh = None
    if settings.refresh_token_days:
        refresh = new_token(REFRESH_PREFIX)
        identity.put_nonce(
            "rt:" + digest(refresh),
            "refresh",
            json.dumps(
                {
                    "user_id": user_id,
                    "workspace_id": workspace_id,
                    "provider": provider,
                    "groups": list(groups),
                }
            ),
            utcnow() + dt.timedelta(days=settings.refresh_token_days),
        )
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh,
        expires_in=minutes * 60,
        session_id=session.id,
        user_id=user_id,
        email=email,
        workspace_id=workspace_id,
    )


def refresh(
    store: Store, roles: Roles, settings: ClaudeCodeSettings, token: str, client_ip: str
) -> IssuedTokens:
    """Spend a refresh token for a new pair; TokenRefused when it is unknown, used, expired,
    or the person may no longer use Claude in the bound workspace."""
    if not _REFRESH.match(token):
        raise TokenRefused("unknown refresh token")
    identity = IdentityStore(store)
    raw = identity.take_nonce("rt:" + digest(token), "refresh")
    if raw is None:
        raise TokenRefused("unknown, used or expired refresh token")
    grant = json.loads(raw)
    user = identity.get_user(grant["user_id"])
    membership = identity.memberships_of(grant["user_id"]).get(grant["workspace_id"])
    if user is None or user.disabled_at is not None:
        raise TokenRefused("the account is disabled")
    if membership is None or not roles.permits(membership.role, MESSAGES_CREATE):
        raise TokenRefused("you no longer have a role in this workspace that may use Claude")
    return issue(
        store,
        settings,
        user_id=user.id,
        email=user.email,
        workspace_id=grant["workspace_id"],
        provider=grant["provider"],
        client_ip=client_ip,
        groups=tuple(grant.get("groups", ())),
    )


class GatewayTokenAuthenticator:
    """Resolves a gateway access token to a Principal (role from the person's current
    membership), with a short cache like API keys. Never raises for bad input."""

    def __init__(
        self, store: Store, roles: Roles, settings: ClaudeCodeSettings, ttl: float = 1.0
    ) -> None:
        self.store = store
        self.identity = IdentityStore(store)
        self.roles = roles
        self.settings = settings
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Resolved | None]] = {}

    def _lookup(self, token_digest: str) -> Resolved | None:
        record = self.identity.find_session(token_digest)
        expected = record.token_sha256 if record is not None else "0" * 64
        if not hmac.compare_digest(token_digest, expected) or record is None:
            return None
        if record.kind != "gateway" or not record.active(utcnow()) or not record.workspace_id:
            return None
        user = self.identity.get_user(record.user_id)
        if user is None or user.disabled_at is not None:
            return None
        membership = self.identity.memberships_of(user.id).get(record.workspace_id)
        space = self.store.get_workspace_by_id(record.workspace_id)
        if membership is None or space is None:
            return None
        try:
            groups = tuple(str(g) for g in json.loads(record.groups or "[]"))
        except ValueError:
            groups = ()
        _, models = self.settings.for_groups(groups)
        principal = Principal(
            key_id=record.id,
            workspace_id=space.id,
            workspace=space.name,
            role=membership.role,
            name=user.email,
            allowed_models=models,
        )
        return Resolved(principal=principal, groups=groups)

    async def authenticate(self, token: str) -> Principal | None:
        resolved = await self.resolve(token)
        return resolved.principal if resolved is not None else None

    async def resolve(self, token: str) -> Resolved | None:
        """The principal and the IdP groups behind a live gateway token."""
        if not _ACCESS.match(token):
            return None
        token_digest = digest(token)
        now = time.monotonic()
        cached = self._cache.get(token_digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        resolved = await asyncio.to_thread(self._lookup, token_digest)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[token_digest] = (now + self.ttl, resolved)
        return resolved

    def forget_all(self) -> None:
        self._cache.clear()

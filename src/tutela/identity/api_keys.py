"""API keys: minting, parsing, and authenticating them on the hot path.

A key reads ``tutela_sk_<id>_<secret>``: the fixed prefix lets secret scanners find a
leaked tutela key, the id finds the record without a scan, and only the SHA-256 digest of
the 256-bit secret is stored (a slow hash adds nothing for a secret that cannot be
guessed). The authenticator caches records for one second so revocation reaches every
process within a second without a database round trip per request.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import time
from dataclasses import dataclass

from tutela.identity.roles import OWNER, Roles
from tutela.store.database import KeyRecord, Store, utcnow
from tutela.types import Principal

PREFIX = "tutela_sk_"
_KEY = re.compile(r"^tutela_sk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True)
class MintedKey:
    """A new key. ``secret`` is shown once to its owner and never stored."""

    record: KeyRecord
    secret: str

    def __repr__(self) -> str:
        return f"MintedKey(id={self.record.id!r}, secret='***')"


def _digest(secret_part: str) -> str:
    return hashlib.sha256(secret_part.encode("ascii")).hexdigest()


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key id, secret part) of a well-formed key, else None."""
    match = _KEY.match(presented)
    return (match.group(1), match.group(2)) if match else None


def mint_key(
    store: Store,
    *,
    workspace: str,
    role: str,
    name: str = "",
    expires_at: dt.datetime | None = None,
    roles: Roles | None = None,
    created_by: str = "",
    rotates: str | None = None,
    overlap_until: dt.datetime | None = None,
) -> MintedKey:
    """Create a key in ``workspace`` with ``role``; the caller shows ``secret`` once.

    With ``rotates``, the new key succeeds that key, which keeps working until
    ``overlap_until`` and then stops (see ``rotate_key``)."""
    from tutela.errors import TutelaError

    table = roles or Roles()
    if role not in table or role == OWNER:
        choices = ", ".join(r for r in table.names() if r != OWNER)
        raise TutelaError(f"unknown role {role!r} for a key; choose one of: {choices}")
    space = store.get_workspace(workspace)
    if space is None:
        raise TutelaError(f"no workspace named {workspace!r}")
    key_id = os.urandom(8).hex()
    secret_part = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")
    record = store.insert_key(
        key_id=key_id,
        workspace=space,
        role=role,
        name=name,
        secret_sha256=_digest(secret_part),
        expires_at=expires_at,
        created_by=created_by,
        rotates=rotates,
        overlap_until=overlap_until,
    )
    return MintedKey(record=record, secret=f"{PREFIX}{key_id}_{secret_part}")


def rotate_key(
    store: Store,
    key_id: str,
    *,
    workspace: str,
    overlap: dt.timedelta,
    roles: Roles | None = None,
    created_by: str = "",
    expires_at: dt.datetime | None = None,
) -> tuple[KeyRecord, MintedKey]:
    """Mint the successor of ``key_id`` (same workspace, role and name); the old key keeps
    working for ``overlap`` (never past its own expiry), then stops. Returns the old key's
    updated record and the new key."""
    from tutela.errors import TutelaError

    old = store.find_key(key_id)
    if old is None or old.workspace != workspace:
        raise TutelaError(f"no key {key_id!r} in workspace {workspace!r}")
    now = utcnow()
    if not old.active(now) or old.replaced_by:
        raise TutelaError(f"key {key_id!r} is {old.state(now)}; only an active key rotates")
    minted = mint_key(
        store,
        workspace=workspace,
        role=old.role,
        name=old.name,
        expires_at=expires_at,
        roles=roles,
        created_by=created_by,
        rotates=key_id,
        overlap_until=now + overlap,
    )
    updated = store.find_key(key_id)
    assert updated is not None
    return updated, minted


def key_status(record: KeyRecord, now: dt.datetime, max_age_days: int) -> dict[str, object]:
    """A key as listings show it: public fields, its state, age, and whether the rotation
    policy (``max_age_days``; 0 turns it off) says it is overdue."""
    age = now - record.created_at
    state = record.state(now)
    overdue = bool(max_age_days) and state == "active" and age > dt.timedelta(days=max_age_days)
    return {
        **record.public(),
        "state": state,
        "age_days": age.days,
        "rotation_overdue": overdue,
    }


class ApiKeyAuthenticator:
    """Resolves a presented key to a Principal, or None. Never raises for bad input."""

    def __init__(self, store: Store, ttl: float = 1.0, touch_interval: float = 60.0) -> None:
        self.store = store
        self.ttl = ttl
        # last_used_at is written at most once per key per ``touch_interval`` seconds
        self.touch_interval = touch_interval
        self._touched_at: dict[str, float] = {}
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._inflight: dict[str, asyncio.Future[KeyRecord | None]] = {}
        # key id -> last time it was used, flushed to the database in batches
        self.touched: dict[str, dt.datetime] = {}

    async def _record(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        pending = self._inflight.get(key_id)
        if pending is not None:  # one lookup per key at a time, however many callers wait
            return await asyncio.shield(pending)
        future: asyncio.Future[KeyRecord | None] = asyncio.get_running_loop().create_future()
        self._inflight[key_id] = future
        try:
            record = await asyncio.to_thread(self.store.find_key, key_id)
            future.set_result(record)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: the caller re-raises it below
            raise
        finally:
            del self._inflight[key_id]
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key_id] = (now + self.ttl, record)
        return record

    async def authenticate(self, presented: str) -> Principal | None:
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret_part = parsed
        record = await self._record(key_id)
        # Compare digests even when the record is missing, so timing says nothing.
        expected = record.secret_sha256 if record is not None else "0" * 64
        if not hmac.compare_digest(_digest(secret_part), expected) or record is None:
            return None
        now = utcnow()
        if not record.active(now):
            return None
        mono = time.monotonic()
        if mono - self._touched_at.get(key_id, -1e18) >= self.touch_interval:
            self._touched_at[key_id] = mono
            self.touched[key_id] = now
            if len(self._touched_at) > 100_000:
                self._touched_at.clear()
        return Principal(
            key_id=record.id,
            workspace_id=record.workspace_id,
            workspace=record.workspace,
            role=record.role,
            name=record.name,
        )

    def forget(self, key_id: str) -> None:
        """Drop a cached record (after a revocation, here or announced by another replica)."""
        self._cache.pop(key_id, None)

    def forget_all(self) -> None:
        self._cache.clear()

    def take_touched(self) -> dict[str, dt.datetime]:
        touched, self.touched = self.touched, {}
        return touched

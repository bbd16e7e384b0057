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

from tutela.identity.roles import ROLES
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
) -> MintedKey:
    """Create a key in ``workspace`` with ``role``; the caller shows ``secret`` once."""
    from tutela.errors import TutelaError

    if role not in ROLES:
        raise TutelaError(f"unknown role {role!r}; choose one of: {', '.join(sorted(ROLES))}")
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
    )
    return MintedKey(record=record, secret=f"{PREFIX}{key_id}_{secret_part}")


class ApiKeyAuthenticator:
    """Resolves a presented key to a Principal, or None. Never raises for bad input."""

    def __init__(self, store: Store, ttl: float = 1.0) -> None:
        self.store = store
        self.ttl = ttl
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
        self.touched[key_id] = now
        return Principal(
            key_id=record.id,
            workspace_id=record.workspace_id,
            workspace=record.workspace,
            role=record.role,
            name=record.name,
        )

    def forget(self, key_id: str) -> None:
        """Drop a cached record (after revocation in this process)."""
        self._cache.pop(key_id, None)

    def take_touched(self) -> dict[str, dt.datetime]:
        touched, self.touched = self.touched, {}
        return touched

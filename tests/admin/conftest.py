"""An admin-port world: workspaces a and b, a key and a session for every kind of caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from tutela.admin.app import AdminApp
from tutela.gateway import Gateway
from tutela.identity.api_keys import mint_key
from tutela.identity.roles import OWNER
from tutela.identity.sessions import start_session
from tutela.policy import parse_policy
from tutela.store.database import Store, utcnow
from tutela.store.identity import IdentityStore
from tutela.testing.asgi import AsgiResponse, call

POLICY = """
roles:
  auditor:
    permissions: [audit.read, keys.read, members.read]
  key_manager:
    permissions: [keys.read, keys.manage]
identity:
  sessions: {cookie_secure: false}
"""


@dataclass
class World:
    app: AdminApp
    gateway: Gateway
    store: Store
    identity: IdentityStore
    creds: dict[str, str] = field(default_factory=dict)  # caller name -> bearer credential

    async def call(
        self, method: str, path: str, who: str | None = None, body: object = None,
        query: bytes = b"", cookie: str | None = None,
    ) -> AsgiResponse:
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
        if who is not None:
            headers.append((b"authorization", f"Bearer {self.creds[who]}".encode()))
        if cookie is not None:
            headers.append((b"cookie", cookie.encode()))
        payload = orjson.dumps(body) if body is not None else b""
        return await call(self.app, method, path, headers=headers, body=payload, query=query)

    def key(self, workspace: str, role: str, **kwargs: object) -> str:
        return mint_key(self.store, workspace=workspace, role=role, roles=self.gateway.roles,
                        **kwargs).secret  # type: ignore[arg-type]


CALLERS = (
    "owner", "admin", "analyst", "viewer", "auditor", "key_manager", "admin_session",
    "other_admin", "revoked", "expired",
)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = Store(f"sqlite:///{tmp_path / 'admin.db'}")
    store.migrate()
    gateway = Gateway(parse_policy(POLICY), store)
    await gateway.start()
    identity = IdentityStore(store)
    w = World(app=AdminApp(gateway), gateway=gateway, store=store, identity=identity)
    a = store.create_workspace("a")
    store.create_workspace("b")
    for role in ("admin", "analyst", "viewer", "auditor", "key_manager"):
        w.creds[role] = w.key("a", role)
    w.creds["other_admin"] = w.key("b", "admin")
    revoked = mint_key(store, workspace="a", role="admin")
    store.revoke_key(revoked.record.id)
    w.creds["revoked"] = revoked.secret
    w.creds["expired"] = w.key("a", "admin", expires_at=utcnow() - dt.timedelta(seconds=1))
    owner, _ = identity.upsert_user(email="owner@example.com")
    identity.set_org_role(owner.id, OWNER)
    settings = gateway.policy.identity.sessions
    w.creds["owner"] = start_session(identity, owner, provider="test", amr="mfa",
                                     client_ip="127.0.0.1", settings=settings)[0]
    person, _ = identity.upsert_user(email="ada@example.com")
    identity.set_membership(person.id, a.id, "admin", "manual")
    w.creds["admin_session"] = start_session(identity, person, provider="test", amr="mfa",
                                             client_ip="127.0.0.1", settings=settings)[0]
    try:
        yield w
    finally:
        await gateway.stop()
        store.close()

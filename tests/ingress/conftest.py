"""An in-process gateway on the offline upstream with a fresh SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutela.gateway import Gateway
from tutela.identity.api_keys import mint_key
from tutela.ingress.app import GatewayApp
from tutela.policy import parse_policy
from tutela.store.database import Store


@dataclass
class Harness:
    app: GatewayApp
    gateway: Gateway
    store: Store
    key: str

    def headers(self, key: str | None = None, **extra: str) -> list[tuple[bytes, bytes]]:
        out = [(b"x-api-key", (key or self.key).encode()), (b"content-type", b"application/json")]
        out += [(k.replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
        return out


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.migrate()
    store.create_workspace("default")
    key = mint_key(store, workspace="default", role="analyst").secret
    policy = parse_policy("guards:\n  rate_limits:\n    per_key: {requests_per_minute: 1000000}\n"
                          "  limits: {max_body_bytes: 65536}\n")
    gateway = Gateway(policy, store)
    await gateway.start()
    try:
        yield Harness(GatewayApp(gateway), gateway, store, key)
    finally:
        await gateway.stop()
        store.close()

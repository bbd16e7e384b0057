"""Shared fixtures: databases (SQLite and the local PostgreSQL), stores, gateways."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutela.audit.chain import Signer
from tutela.gateway import Gateway
from tutela.identity.api_keys import mint_key
from tutela.ingress.app import GatewayApp
from tutela.policy import parse_policy
from tutela.store.database import Store

# Gateways started by tests sign audit checkpoints with this key instead of writing a key
# file into the working directory (tests/audit/test_chain.py covers the key file itself).
os.environ.setdefault("TUTELA_AUDIT_SIGNING_KEY", Signer.generate().seed_b64())

PG_ADMIN = os.environ.get("TUTELA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # the reason is reported in the skip message
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_unavailable() -> str | None:
    return _pg_available()


def _create_pg_database() -> tuple[str, str]:
    import psycopg

    name = "tutela_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_unavailable: str | None
) -> Iterator[str]:
    """A fresh, empty database URL: SQLite in a temp dir, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tutela.db'}"
        return
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    name, url = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(name)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'tutela.db'}")
    store.migrate()
    try:
        yield store
    finally:
        store.close()


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
    policy = parse_policy(
        "guards:\n  rate_limits:\n    per_key: {requests_per_minute: 1000000}\n"
        "  limits: {max_body_bytes: 65536}\n"
    )
    gateway = Gateway(policy, store)
    await gateway.start()
    try:
        yield Harness(GatewayApp(gateway), gateway, store, key)
    finally:
        await gateway.stop()
        store.close()


@pytest.fixture(autouse=True)
def _close_sdk_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every anthropic SDK client a test made, when the test ends.

    Each client pools sockets; a client left to the garbage collector can surface as an
    unclosed-socket ResourceWarning inside whichever test runs next (seen once in CI, in a
    fuzz test, from a socket to an end-to-end gateway)."""
    import anthropic

    created: list[anthropic.Anthropic] = []
    original = anthropic.Anthropic.__init__

    def init(self: anthropic.Anthropic, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        created.append(self)

    monkeypatch.setattr(anthropic.Anthropic, "__init__", init)
    yield
    for client in created:
        client.close()

"""The store against both SQLite and the local PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tutela.audit.events import ApiRequest, WorkspaceChange
from tutela.errors import StoreError
from tutela.store import schema
from tutela.store.database import Store, normalise_url, redact_url


def test_migrate_is_idempotent_and_creates_every_table(store: Store) -> None:
    store.migrate()
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"workspaces", "api_keys", "usage_records", "audit_events", "alembic_version"} <= tables


def test_workspaces_are_unique_by_name(store: Store) -> None:
    created = store.create_workspace("finance")
    assert store.get_workspace("finance") == created
    with pytest.raises(StoreError, match="already exists"):
        store.create_workspace("finance")
    assert [w.name for w in store.list_workspaces()] == ["finance"]


def test_key_roundtrip_keeps_only_the_digest_and_aware_times(store: Store) -> None:
    space = store.create_workspace("default")
    expires = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    store.insert_key(
        key_id="00112233aabbccdd",
        workspace=space,
        role="analyst",
        name="app",
        secret_sha256="ab" * 32,
        expires_at=expires,
    )
    found = store.find_key("00112233aabbccdd")
    assert found is not None
    assert found.workspace == "default" and found.role == "analyst"
    assert found.expires_at == expires and found.expires_at.tzinfo is not None
    assert found.created_at.tzinfo is not None
    assert "secret_sha256" not in found.public()
    assert store.find_key("ffffffffffffffff") is None


def test_revoke_sets_time_once_and_unknown_key_is_none(store: Store) -> None:
    space = store.create_workspace("default")
    store.insert_key(
        key_id="0011223344556677",
        workspace=space,
        role="admin",
        name="",
        secret_sha256="cd" * 32,
        expires_at=None,
    )
    first = store.revoke_key("0011223344556677")
    assert first is not None and first.revoked_at is not None
    second = store.revoke_key("0011223344556677")
    assert second is not None and second.revoked_at == first.revoked_at
    assert not first.active(dt.datetime.now(dt.UTC))
    assert store.revoke_key("nope") is None


def test_write_batch_stores_usage_audit_and_last_use_together(store: Store) -> None:
    space = store.create_workspace("default")
    store.insert_key(
        key_id="1111222233334444",
        workspace=space,
        role="analyst",
        name="",
        secret_sha256="ef" * 32,
        expires_at=None,
    )
    now = dt.datetime.now(dt.UTC)
    usage = [
        {
            "request_id": f"req_{i}",
            "ts": now,
            "workspace_id": space.id,
            "key_id": "1111222233334444",
            "endpoint": "messages",
            "model": "m",
            "status": 200,
            "outcome": "ok",
            "input_tokens": 10 * i,
            "output_tokens": i,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "duration_ms": 1,
        }
        for i in range(1, 4)
    ]
    events = [
        ApiRequest(request_id=f"req_{i}", endpoint="messages", outcome="ok") for i in range(3)
    ]
    store.write_batch(usage, events, {"1111222233334444": now})
    assert store.usage_totals(workspace_id=space.id) == {
        "requests": 3,
        "input_tokens": 60,
        "output_tokens": 6,
    }
    assert len(store.audit_events("api.request")) == 3
    key = store.find_key("1111222233334444")
    assert key is not None and key.last_used_at is not None
    assert abs((key.last_used_at - now).total_seconds()) < 1


def test_write_batch_is_atomic(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    row = {
        "request_id": "dup",
        "ts": now,
        "workspace_id": None,
        "key_id": None,
        "endpoint": "messages",
        "model": "",
        "status": 200,
        "outcome": "ok",
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "duration_ms": 0,
    }
    event = ApiRequest(request_id="dup", outcome="ok")
    with pytest.raises(Exception) as raised:  # the driver's own IntegrityError
        store.write_batch([row, dict(row)], [event], {})
    assert type(raised.value).__name__ in ("IntegrityError", "UniqueViolation")
    assert store.usage() == [] and store.audit_events() == []
    assert store.chain_head()[0] == 0  # the chain did not move either


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.write_batch(
            [], [ApiRequest(outcome="ok", time=dt.datetime(2026, 1, 1))], {}
        )


def test_urls_are_normalised_and_passwords_redacted() -> None:
    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert "secret" not in redact_url("postgresql+psycopg://u:secret@h/db")


def test_unreachable_database_is_a_clear_error() -> None:
    store = Store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot reach database"):
        store.migrate()


def test_bulk_written_times_read_back_exactly(store: Store) -> None:
    when = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.UTC)  # no microseconds
    later = when + dt.timedelta(microseconds=1)
    store.write_batch(
        [],
        [
            WorkspaceChange(activity="created", time=when),
            WorkspaceChange(activity="updated", time=later),
        ],
        {},
    )
    events = {e["event_type"]: e["ts"] for e in store.audit_events()}
    assert events == {"workspace.created": when, "workspace.updated": later}
    table = schema.audit_events
    with store.engine.connect() as connection:
        newer = connection.execute(sa.select(table.c.event_type).where(table.c.ts > when)).all()
    assert [row[0] for row in newer] == ["workspace.updated"]

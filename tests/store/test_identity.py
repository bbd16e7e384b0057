"""The identity repository on SQLite and PostgreSQL, and migration 0002 over existing data."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from tutela.store import schema
from tutela.store.database import MIGRATIONS, Store, utcnow
from tutela.store.identity import IdentityStore


def test_users_are_created_once_by_lowercased_email(store: Store) -> None:
    identity = IdentityStore(store)
    first, created = identity.upsert_user(email="Ada@Example.com", name="Ada", login=True)
    again, created_again = identity.upsert_user(email="ada@example.com", idp="oidc:corp",
                                                subject="u1")
    assert created and not created_again and first.id == again.id
    assert again.idp == "oidc:corp" and again.last_login_at is not None
    assert "password" not in repr(again)


def test_memberships_are_per_workspace(store: Store) -> None:
    identity = IdentityStore(store)
    a, b = store.create_workspace("a"), store.create_workspace("b")
    user, _ = identity.upsert_user(email="u@example.com")
    assert identity.set_membership(user.id, a.id, "viewer", "sso") is None
    previous = identity.set_membership(user.id, a.id, "admin", "manual")
    assert previous is not None and previous.role == "viewer"
    identity.set_membership(user.id, b.id, "analyst", "sso")
    assert {ws: m.role for ws, m in identity.memberships_of(user.id).items()} == {
        a.id: "admin", b.id: "analyst"}
    assert [u.email for u, _ in identity.members(a.id)] == ["u@example.com"]
    assert identity.remove_membership(user.id, b.id)
    assert not identity.remove_membership(user.id, b.id)


def test_sessions_store_only_a_digest_and_revoke(store: Store) -> None:
    identity = IdentityStore(store)
    user, _ = identity.upsert_user(email="u@example.com")
    record = identity.create_session(token_sha256="d" * 64, user_id=user.id, idp="oidc:x",
                                     amr="otp", client_ip="10.0.0.1",
                                     expires_at=utcnow() + dt.timedelta(hours=1))
    found = identity.find_session("d" * 64)
    assert found is not None and found.active(utcnow())
    identity.revoke_user_sessions(user.id)
    assert not identity.find_session("d" * 64).active(utcnow())  # type: ignore[union-attr]
    assert record.id.startswith("ses_")


def test_nonces_work_once_and_expire(store: Store) -> None:
    identity = IdentityStore(store)
    later = utcnow() + dt.timedelta(minutes=5)
    assert identity.put_nonce("n1", "oidc", "data", later)
    assert not identity.put_nonce("n1", "oidc", "other", later)  # a replay
    assert identity.peek_nonce("n1", "oidc") == "data"
    assert identity.take_nonce("n1", "saml") is None  # another kind
    assert identity.take_nonce("n1", "oidc") == "data"
    assert identity.take_nonce("n1", "oidc") is None  # once only
    assert identity.put_nonce("old", "oidc", "x", utcnow() - dt.timedelta(seconds=1))
    assert identity.take_nonce("old", "oidc") is None  # expired
    assert identity.put_nonce("fresh", "oidc", "y", later)  # purges the expired one
    with store.engine.connect() as connection:
        ids = {row.id for row in connection.execute(sa.select(schema.auth_nonces.c.id))}
    assert "old" not in ids


def test_migration_0002_keeps_existing_keys(db_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    store = Store(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with store.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO workspaces (id, name, created_at) VALUES ('ws_1', 'w', :t)"
            ), {"t": utcnow() if store.dialect != "sqlite" else "2026-01-01 00:00:00.000000"})
            connection.execute(sa.text(
                "INSERT INTO api_keys (id, workspace_id, role, name, secret_sha256, created_at) "
                "VALUES ('k1', 'ws_1', 'analyst', 'old', :d, :t)"
            ), {"d": "0" * 64,
                "t": utcnow() if store.dialect != "sqlite" else "2026-01-01 00:00:00.000000"})
        store.migrate()
        key = store.find_key("k1")
        assert key is not None and key.created_by == "" and key.replaced_by is None
        assert key.state(utcnow()) == "active"
    finally:
        store.close()

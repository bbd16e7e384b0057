"""Minting and authenticating API keys."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import pytest

from tutela.errors import TutelaError
from tutela.identity.api_keys import PREFIX, ApiKeyAuthenticator, mint_key, parse_key
from tutela.store.database import Store


def test_minted_key_has_prefix_and_only_its_digest_is_stored(store: Store) -> None:
    store.create_workspace("default")
    minted = mint_key(store, workspace="default", role="analyst", name="ci")
    assert minted.secret.startswith(PREFIX)
    assert minted.secret not in repr(minted)
    key_id, secret_part = parse_key(minted.secret)  # type: ignore[misc]
    record = store.find_key(key_id)
    assert record is not None
    assert record.secret_sha256 == hashlib.sha256(secret_part.encode()).hexdigest()
    assert secret_part not in str(record.public())


def test_keys_are_unique(sqlite_store: Store) -> None:
    sqlite_store.create_workspace("default")
    secrets = {
        mint_key(sqlite_store, workspace="default", role="analyst").secret for _ in range(50)
    }
    assert len(secrets) == 50


@pytest.mark.parametrize(
    ("workspace", "role", "message"),
    [
        ("default", "root", "unknown role"),
        ("nowhere", "analyst", "no workspace"),
    ],
)
def test_mint_refuses_unknown_role_or_workspace(
    sqlite_store: Store, workspace: str, role: str, message: str
) -> None:
    sqlite_store.create_workspace("default")
    with pytest.raises(TutelaError, match=message):
        mint_key(sqlite_store, workspace=workspace, role=role)


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "tutela_sk_",
        "sk-ant-api03-xyz",
        "tutela_sk_0011223344556677_short",
        "tutela_sk_ZZ11223344556677_" + "a" * 43,
        "tutela_sk_0011223344556677_" + "a" * 44,
    ],
)
def test_parse_rejects_malformed(presented: str) -> None:
    assert parse_key(presented) is None


async def test_authenticate_valid_wrong_revoked_expired(store: Store) -> None:
    store.create_workspace("default")
    auth = ApiKeyAuthenticator(store, ttl=0.0)
    good = mint_key(store, workspace="default", role="analyst")
    principal = await auth.authenticate(good.secret)
    assert principal is not None
    assert principal.role == "analyst" and principal.workspace == "default"
    assert principal.key_id == good.record.id
    assert good.record.id in auth.take_touched()

    key_id, secret_part = parse_key(good.secret)  # type: ignore[misc]
    tampered = f"{PREFIX}{key_id}_{'A' * 43}"
    assert await auth.authenticate(tampered) is None
    assert await auth.authenticate(f"{PREFIX}{'0' * 16}_{secret_part}") is None

    store.revoke_key(good.record.id)
    assert await auth.authenticate(good.secret) is None

    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    expired = mint_key(store, workspace="default", role="analyst", expires_at=past)
    assert await auth.authenticate(expired.secret) is None


async def test_revocation_reaches_a_caching_authenticator_within_its_ttl(
    sqlite_store: Store,
) -> None:
    sqlite_store.create_workspace("default")
    auth = ApiKeyAuthenticator(sqlite_store, ttl=0.2)
    key = mint_key(sqlite_store, workspace="default", role="analyst")
    assert await auth.authenticate(key.secret) is not None
    sqlite_store.revoke_key(key.record.id)
    await asyncio.sleep(0.25)
    assert await auth.authenticate(key.secret) is None


async def test_concurrent_misses_share_one_lookup(sqlite_store: Store) -> None:
    sqlite_store.create_workspace("default")
    key = mint_key(sqlite_store, workspace="default", role="analyst")
    calls = 0
    original = sqlite_store.find_key

    def counting(key_id: str):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(key_id)

    sqlite_store.find_key = counting  # type: ignore[method-assign]
    auth = ApiKeyAuthenticator(sqlite_store)
    results = await asyncio.gather(*(auth.authenticate(key.secret) for _ in range(20)))
    assert all(r is not None for r in results)
    assert calls == 1


# -- rotation, the rotation policy, cheap last-use tracking --------------------------------

from tutela.identity.api_keys import key_status, rotate_key  # noqa: E402
from tutela.identity.roles import Roles  # noqa: E402
from tutela.store.database import utcnow  # noqa: E402


async def test_rotation_keeps_the_old_key_during_the_overlap_then_refuses_it(
    store: Store,
) -> None:
    store.create_workspace("default")
    auth = ApiKeyAuthenticator(store, ttl=0.0)
    old = mint_key(store, workspace="default", role="analyst", name="ci")
    updated, new = rotate_key(
        store, old.record.id, workspace="default", overlap=dt.timedelta(hours=1)
    )
    assert new.record.role == "analyst" and new.record.name == "ci"
    assert updated.replaced_by == new.record.id and updated.state(utcnow()) == "rotating"
    # during the overlap both work
    assert await auth.authenticate(old.secret) is not None
    assert await auth.authenticate(new.secret) is not None
    # a second rotation of the same key is refused: one successor only
    with pytest.raises(TutelaError, match="rotating"):
        rotate_key(store, old.record.id, workspace="default", overlap=dt.timedelta(hours=1))
    # after the overlap (no overlap at all here) the old key stops working
    _, newer = rotate_key(store, new.record.id, workspace="default", overlap=dt.timedelta(0))
    assert await auth.authenticate(new.secret) is None
    assert await auth.authenticate(newer.secret) is not None
    assert store.find_key(new.record.id).state(utcnow()) == "expired"  # type: ignore[union-attr]


def test_rotation_never_extends_an_earlier_expiry_and_stays_in_its_workspace(
    sqlite_store: Store,
) -> None:
    sqlite_store.create_workspace("default")
    sqlite_store.create_workspace("other")
    soon = utcnow() + dt.timedelta(minutes=5)
    old = mint_key(sqlite_store, workspace="default", role="viewer", expires_at=soon)
    with pytest.raises(TutelaError, match="no key"):
        rotate_key(sqlite_store, old.record.id, workspace="other", overlap=dt.timedelta(days=1))
    updated, _ = rotate_key(
        sqlite_store, old.record.id, workspace="default", overlap=dt.timedelta(days=1)
    )
    assert updated.expires_at == soon


def test_keys_past_the_rotation_policy_are_overdue(sqlite_store: Store) -> None:
    sqlite_store.create_workspace("default")
    record = mint_key(sqlite_store, workspace="default", role="analyst").record
    now = utcnow()
    assert key_status(record, now, 90)["rotation_overdue"] is False
    later = now + dt.timedelta(days=91)
    status = key_status(record, later, 90)
    assert status["rotation_overdue"] is True and status["age_days"] == 91
    assert key_status(record, later, 0)["rotation_overdue"] is False  # policy off


def test_owner_and_unknown_roles_cannot_be_minted_custom_roles_can(sqlite_store: Store) -> None:
    sqlite_store.create_workspace("default")
    with pytest.raises(TutelaError, match="unknown role"):
        mint_key(sqlite_store, workspace="default", role="owner")
    roles = Roles({"auditor": frozenset({"audit.read", "keys.read"})})
    minted = mint_key(sqlite_store, workspace="default", role="auditor", roles=roles)
    assert minted.record.role == "auditor"


async def test_last_use_is_recorded_once_per_interval_not_per_request(
    sqlite_store: Store,
) -> None:
    sqlite_store.create_workspace("default")
    auth = ApiKeyAuthenticator(sqlite_store, touch_interval=3600)
    key = mint_key(sqlite_store, workspace="default", role="analyst")
    for _ in range(5):
        assert await auth.authenticate(key.secret) is not None
    assert list(auth.take_touched()) == [key.record.id]
    assert await auth.authenticate(key.secret) is not None
    assert auth.take_touched() == {}

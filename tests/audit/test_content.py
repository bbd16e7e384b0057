"""Content logging: off by default; when on, prompts and responses are stored only
AES-256-GCM encrypted, readable with the master key through an audited command."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from tutela.audit.content import ContentVault, parse_master_keys
from tutela.cli.main import main
from tutela.errors import ConfigError
from tutela.gateway import Gateway
from tutela.identity.api_keys import mint_key
from tutela.ingress.app import GatewayApp
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.testing.asgi import call
from tutela.testing.audit import request_view

SECRET_PROMPT = "the merger with Initech closes on Friday"
MODEL = "claude-sonnet-4-6"


def master() -> str:
    return "v1:" + base64.b64encode(os.urandom(32)).decode()


async def _gateway(tmp_path: Path, logging_on: bool) -> tuple[Gateway, Store, str]:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    store.migrate()
    store.create_workspace("legal")
    key = mint_key(store, workspace="legal", role="analyst").secret
    policy = parse_policy(f"workspaces:\n  legal: {{content_logging: {str(logging_on).lower()}}}\n")
    gateway = Gateway(policy, store)
    await gateway.start()
    return gateway, store, key


async def _ask(gateway: Gateway, key: str, stream: bool) -> str:
    body = {"model": MODEL, "max_tokens": 50, "stream": stream,
            "messages": [{"role": "user", "content": SECRET_PROMPT}]}
    response = await call(GatewayApp(gateway), "POST", "/v1/messages", body=orjson.dumps(body),
                          headers=[(b"x-api-key", key.encode()), (b"content-type", b"application/json")])
    assert response.status == 200
    return response.headers["x-tutela-request-id"]


def _everything(path: Path) -> bytes:
    """The database, its WAL and the audit journal: every file tutela wrote for it."""
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    files += [p for p in path.parent.glob(path.name + "*/*") if p.is_file()]
    return b"".join(p.read_bytes() for p in files)


async def test_off_by_default_nothing_is_kept(tmp_path: Path) -> None:
    gateway, store, key = await _gateway(tmp_path, logging_on=False)
    request_id = await _ask(gateway, key, stream=False)
    await gateway.stop()
    assert store.content(request_id) is None
    assert SECRET_PROMPT.encode() not in _everything(tmp_path / "c.db")


@pytest.mark.parametrize("stream", [False, True])
async def test_on_content_is_encrypted_hashed_into_the_chain_and_read_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    monkeypatch.setenv("TUTELA_CONTENT_MASTER_KEY", master())
    gateway, store, key = await _gateway(tmp_path, logging_on=True)
    request_id = await _ask(gateway, key, stream=stream)
    await gateway.stop()
    row = store.content(request_id)
    assert row is not None and row["key_version"] == 1
    assert SECRET_PROMPT.encode() not in _everything(tmp_path / "c.db")
    import hashlib

    event = request_view(store.search_audit(request_id=request_id)[0]["data"])
    assert event["content_sha256"] == hashlib.sha256(row["ciphertext"].encode()).hexdigest()
    result = CliRunner().invoke(main, ["audit", "content", request_id,
                                       "--db", f"sqlite:///{tmp_path / 'c.db'}"])
    assert result.exit_code == 0, result.output
    opened = orjson.loads(result.output)
    assert SECRET_PROMPT in opened["request"]
    assert ("message_stop" in opened["response"]) if stream else ('"content"' in opened["response"])
    reads = store.audit_events("content.decrypted")
    assert len(reads) == 1 and request_id in reads[0]["data"]


async def test_a_row_moved_to_another_request_does_not_decrypt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUTELA_CONTENT_MASTER_KEY", master())
    gateway, store, key = await _gateway(tmp_path, logging_on=True)
    first, second = await _ask(gateway, key, False), await _ask(gateway, key, False)
    await gateway.stop()
    vault = ContentVault.from_env(store, "TUTELA_CONTENT_MASTER_KEY")
    row = store.content(first)
    assert row is not None
    assert SECRET_PROMPT.encode() in vault.open(row["workspace_id"], first, row)
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        vault.open(row["workspace_id"], second, row)


async def test_content_logging_without_a_master_key_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TUTELA_CONTENT_MASTER_KEY", raising=False)
    with pytest.raises(ConfigError, match="TUTELA_CONTENT_MASTER_KEY is not set"):
        await _gateway(tmp_path, logging_on=True)


def test_master_keys_rotate_by_version() -> None:
    one, two = os.urandom(32), os.urandom(32)
    text = f"v1:{base64.b64encode(one).decode()},v2:{base64.b64encode(two).decode()}"
    assert parse_master_keys(text) == {1: one, 2: two}
    with pytest.raises(ConfigError):
        parse_master_keys("v1:short")


async def test_policy_changes_are_recorded_once_per_change(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    store.migrate()
    for text in ("logging: {access_log: false}\n", "logging: {access_log: false}  # same\n",
                 "logging: {access_log: true}\n"):
        gateway = Gateway(parse_policy(text), store)
        await gateway.start()
        await gateway.stop()
    events = store.audit_events("policy.loaded")
    assert len(events) == 2
    newest, first = events[0]["event"], events[1]["event"]
    assert newest["entity"]["data"] == first["entity_result"]["data"]
    assert newest["entity_result"]["data"] != first["entity_result"]["data"]
    assert newest["type_uid"] == 300403


async def test_admin_api_content_read_needs_its_own_permission_and_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.admin.app import AdminApp

    monkeypatch.setenv("TUTELA_CONTENT_MASTER_KEY", master())
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    store.migrate()
    store.create_workspace("legal")
    key = mint_key(store, workspace="legal", role="analyst").secret
    admin = mint_key(store, workspace="legal", role="admin").secret
    reader_policy = (
        "workspaces:\n  legal: {content_logging: true}\n"
        "roles:\n  privacy_officer: {permissions: [content.read, audit.read]}\n"
    )
    gateway = Gateway(parse_policy(reader_policy), store)
    await gateway.start()
    reader = mint_key(store, workspace="legal", role="privacy_officer",
                      roles=gateway.roles).secret
    try:
        request_id = await _ask(gateway, key, stream=False)
        assert gateway.writer is not None
        await gateway.writer.flush()  # journaled at once, in the database a few ms later
        app = AdminApp(gateway)
        path = f"/admin/v1/workspaces/legal/audit/content/{request_id}"
        denied = await call(app, "GET", path, headers=[(b"authorization", f"Bearer {admin}".encode())])
        assert denied.status == 403  # a workspace admin does not read content by default
        allowed = await call(app, "GET", path, headers=[(b"authorization", f"Bearer {reader}".encode())])
        assert allowed.status == 200
        assert SECRET_PROMPT in orjson.loads(allowed.body)["content"]["request"]
        reads = store.audit_events("content.decrypted")
        assert len(reads) == 1 and reads[0]["actor"] != ""
    finally:
        await gateway.stop()

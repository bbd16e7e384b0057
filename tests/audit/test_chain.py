"""The hash chain and signed checkpoints: a real audit store verifies clean, and every one
of 1,000 random single edits is caught and named."""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from tutela.audit.chain import GENESIS, Signer, trusted_keys, verify_store
from tutela.audit.events import ApiRequest, WorkspaceChange, cli_actor
from tutela.cli.main import main
from tutela.gateway import Gateway
from tutela.identity.api_keys import mint_key
from tutela.ingress.app import GatewayApp
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.testing.asgi import call
from tutela.testing.tamper import apply_random_edit

MODEL = "claude-sonnet-4-6"


async def _real_store(path: Path) -> tuple[str, Signer]:
    """A store written by a running gateway: requests of every kind, key events,
    checkpoints every 10 events, and the final checkpoint written on stop."""
    url = f"sqlite:///{path}"
    store = Store(url)
    store.migrate()
    store.create_workspace("default")
    key = mint_key(store, workspace="default", role="analyst").secret
    policy = parse_policy(
        "audit: {checkpoint_every_events: 10}\n"
        "guards:\n  dlp: {actions: {fin.credit_card: block}}\n"
    )
    gateway = Gateway(policy, store)
    await gateway.start()
    app = GatewayApp(gateway)
    headers = [(b"x-api-key", key.encode()), (b"content-type", b"application/json")]
    bodies = [
        {"model": MODEL, "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]},
        {"model": MODEL, "max_tokens": 20, "stream": True,
         "messages": [{"role": "user", "content": "stream please"}]},
        {"model": MODEL, "max_tokens": 20,
         "messages": [{"role": "user", "content": "card 4111 1111 1111 1111"}]},
    ]
    for i in range(45):
        response = await call(app, "POST", "/v1/messages", headers=headers,
                              body=orjson.dumps(bodies[i % 3]))
        assert response.status in (200, 403)
    await call(app, "GET", "/v1/models", headers=[(b"x-api-key", b"wrong")])
    assert gateway.signer is not None
    signer = gateway.signer
    await gateway.stop()
    store.append_audit([WorkspaceChange(activity="created", actor=cli_actor(), entity_uid="w")])
    store.close()
    return url, signer


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Signer]]:
    import asyncio

    path = tmp_path_factory.mktemp("audit") / "real.db"
    _, signer = asyncio.run(_real_store(path))
    # the stop-time checkpoint covers events written by the gateway; sign the CLI tail too
    store = Store(f"sqlite:///{path}")
    seq, head = store.chain_head()
    store.add_checkpoint(signer.sign(seq, head, 1))
    store.close()
    yield path, signer


def test_a_real_store_verifies_clean(real_store: tuple[Path, Signer]) -> None:
    path, signer = real_store
    store = Store(f"sqlite:///{path}")
    report = verify_store(store, trusted_keys(signer))
    assert report.ok, report.problems
    assert report.records == store.chain_head()[0] == 63  # incl. policy.loaded
    assert report.checkpoints >= 2  # every 10 events, batched, plus the one at stop
    events = store.audit_events(limit=10_000)
    assert {e["event_type"] for e in events} >= {
        "api.request", "finding.created", "workspace.created"
    }
    store.close()


def test_verify_cli_reports_clean_and_broken(real_store: tuple[Path, Signer], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path, signer = real_store
    copy = tmp_path / "copy.db"
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    monkeypatch.setenv("TUTELA_AUDIT_SIGNING_KEY", signer.seed_b64())
    result = CliRunner().invoke(main, ["audit", "verify", "--db", f"sqlite:///{copy}"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE audit_events SET outcome = 'tampered' WHERE seq = 7")
    result = CliRunner().invoke(main, ["audit", "verify", "--db", f"sqlite:///{copy}", "--json"])
    assert result.exit_code == 1
    problem = orjson.loads(result.output)["problem"]
    assert problem["kind"] == "altered" and problem["seq"] == 7


def test_a_thousand_random_edits_are_each_caught_and_named(
    real_store: tuple[Path, Signer], tmp_path: Path
) -> None:
    path, signer = real_store
    trusted = trusted_keys(signer)
    work = tmp_path / "edited.db"
    rng = random.Random(20261130)
    seen: dict[str, int] = {}
    for round_number in range(1000):
        work.unlink(missing_ok=True)
        with sqlite3.connect(path) as source, sqlite3.connect(work) as target:
            source.backup(target)
            edit = apply_random_edit(target, rng)
            target.commit()
        store = Store(f"sqlite:///{work}")
        try:
            report = verify_store(store, trusted)
        finally:
            store.close()
        assert not report.ok, f"edit {round_number} went unnoticed: {edit}"
        problem = report.problems[0]
        assert problem.kind == edit.expect_kind, (edit, problem)
        if edit.seq is not None:
            assert problem.seq == edit.seq, (edit, problem)
        if edit.checkpoint is not None:
            assert problem.checkpoint == edit.checkpoint, (edit, problem)
        seen[edit.kind] = seen.get(edit.kind, 0) + 1
    assert len(seen) == 5 and min(seen.values()) > 100, seen


def test_chain_is_linear_across_concurrent_writers(db_url: str) -> None:
    """Two stores (as two gateway processes would) append at once: one chain, no gaps."""
    first, second = Store(db_url), Store(db_url)
    first.migrate()

    def write(store: Store, tag: str) -> None:
        for i in range(30):
            store.append_audit(
                [ApiRequest(request_id=f"{tag}{i}-{j}", endpoint="messages", outcome="ok")
                 for j in range(3)]
            )

    threads = [threading.Thread(target=write, args=(s, t)) for s, t in ((first, "a"), (second, "b"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    signer = Signer.generate()
    seq, head = first.chain_head()
    first.add_checkpoint(signer.sign(seq, head, 5))
    report = verify_store(first, trusted_keys(signer))
    assert report.ok, report.problems
    assert report.records == seq == 180 and report.first_seq == 1
    rows = list(first.audit_rows())
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["seq"] for r in rows] == list(range(1, 181))
    first.close()
    second.close()


def test_verify_a_range_and_an_untrusted_key(store: Store) -> None:
    store.append_audit([ApiRequest(request_id=f"r{i}", outcome="ok") for i in range(20)])
    signer, other = Signer.generate(), Signer.generate()
    seq, head = store.chain_head()
    store.add_checkpoint(signer.sign(seq, head, 9))
    assert verify_store(store, trusted_keys(signer), from_seq=5, to_seq=15).records == 11
    report = verify_store(store, trusted_keys(other))
    assert report.problems[0].kind == "checkpoint_untrusted_key"
    assert verify_store(store, trusted_keys(signer)).ok


def test_signing_key_file_is_created_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.policy import Policy

    monkeypatch.delenv("TUTELA_AUDIT_SIGNING_KEY", raising=False)
    path = Policy().audit.key_path(f"sqlite:///{tmp_path / 'gw.db'}")
    assert path == tmp_path / "gw.db.audit-key"
    first = Signer.load(env="TUTELA_AUDIT_SIGNING_KEY", path=path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = Signer.load(env="TUTELA_AUDIT_SIGNING_KEY", path=path)
    assert again.key_id == first.key_id
    monkeypatch.setenv("TUTELA_AUDIT_SIGNING_KEY", "not base64!")
    from tutela.errors import ConfigError

    with pytest.raises(ConfigError, match="32-byte Ed25519 seed"):
        Signer.load(env="TUTELA_AUDIT_SIGNING_KEY", path=path)


def test_a_retention_purge_keeps_the_rest_verifiable(
    real_store: tuple[Path, Signer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, signer = real_store
    copy = tmp_path / "purged.db"
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("TUTELA_AUDIT_SIGNING_KEY", signer.seed_b64())
    store = Store(url)
    # The cutoff is just after the first signed checkpoint's record, wherever the writer's
    # batching put that checkpoint (a fixed record count made the test depend on timing).
    rows = list(store.audit_rows())
    first = min(cp["seq"] for cp in store.checkpoints())
    anchor = next(r["ts"] for r in rows if r["seq"] == first)
    cutoff = next(r["ts"] for r in rows if r["ts"] > anchor).isoformat()
    store.close()
    dry = CliRunner().invoke(main, ["audit", "purge", "--before", cutoff, "--db", url])
    assert dry.exit_code == 0 and "would remove" in dry.output
    done = CliRunner().invoke(
        main, ["audit", "purge", "--before", cutoff, "--policy", "180d", "--yes", "--db", url]
    )
    assert done.exit_code == 0, done.output
    store = Store(url)
    rows = list(store.audit_rows())
    purge = store.audit_events("audit.purged")[0]["event"]["unmapped"]["tutela"]
    assert rows[0]["seq"] == purge["through_seq"] + 1 and purge["policy"] == "180d"
    assert verify_store(store, trusted_keys(signer)).ok
    store.close()
    with sqlite3.connect(copy) as conn:  # deleting past the anchor is still caught
        conn.execute("DELETE FROM audit_events WHERE seq = ?", (rows[0]["seq"],))
    store = Store(url)
    problem = verify_store(store, trusted_keys(signer)).problems[0]
    assert problem.kind == "missing" and problem.seq == rows[0]["seq"]
    store.close()

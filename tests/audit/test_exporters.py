"""Exporters against local receivers that speak each SIEM's wire format: every event
delivered, parsed back equal, exactly once by uid after outages; rejects dead-lettered."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tutela.audit.chain import Signer
from tutela.audit.events import ApiRequest, WorkspaceChange
from tutela.audit.export import build_sink
from tutela.audit.export.base import Exporter
from tutela.policy import ExporterSettings
from tutela.store.database import Store
from tutela.testing import siem


@pytest.fixture
def filled(sqlite_store: Store) -> Store:
    events: list[Any] = []
    for i in range(120):
        events.append(
            ApiRequest(request_id=f"req_{i}", endpoint="messages", outcome="ok", model="m",
                       usage={"input_tokens": i, "output_tokens": 2})
        )
    events.append(WorkspaceChange(activity="created", entity_uid="w1", entity_name="legal"))
    sqlite_store.append_audit(events)
    signer = Signer.generate()
    seq, head = sqlite_store.chain_head()
    sqlite_store.add_checkpoint(signer.sign(seq, head, 1_700_000_000_000))
    return sqlite_store


def stored(store: Store) -> dict[str, dict[str, Any]]:
    return {row["uid"]: row["event"] for row in store.search_audit(limit=10_000)}


async def run_until_caught_up(exporter: Exporter, store: Store, rounds: int = 200) -> None:
    exporter.poll_interval = 0.01
    exporter.start()
    head = store.chain_head()[0]
    checkpoints = store.checkpoints()
    try:
        for _ in range(rounds * 10):
            seq, cp = store.sink_cursor(exporter.sink.name)
            if seq >= head and cp >= (checkpoints[-1]["id"] if checkpoints else 0):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"exporter stuck at {store.sink_cursor(exporter.sink.name)}")
    finally:
        await exporter.close()


@pytest.fixture
async def receiver_url() -> AsyncIterator[Any]:
    runners = []

    async def start(receiver: Any) -> str:
        runner, url = await siem.serve(receiver.app())
        runners.append(runner)
        return url

    yield start
    for runner in runners:
        await runner.cleanup()


def settings(**values: Any) -> ExporterSettings:
    return ExporterSettings.model_validate(
        {"backoff_initial": 0.01, "backoff_max": 0.05, "batch_size": 50, **values}
    )


def assert_all_delivered_once(receiver: siem.Receiver, store: Store) -> None:
    expected = stored(store)
    events = {uid: e for uid, e in expected.items()}
    delivered = [e for e in receiver.received if e["metadata"]["event_code"] != "audit.checkpoint"]
    uids = [e["metadata"]["uid"] for e in delivered]
    assert sorted(uids) == sorted(events), "every event delivered exactly once by uid"
    for event in delivered:
        assert event == events[event["metadata"]["uid"]]  # parses back to the same event
    checkpoints = [e for e in receiver.received if e["metadata"]["event_code"] == "audit.checkpoint"]
    assert [c["unmapped"]["tutela"]["checkpoint"]["seq"] for c in checkpoints] == [
        store.chain_head()[0]
    ]


async def test_splunk_hec_with_indexer_acknowledgement(filled: Store, receiver_url: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = siem.SplunkHec(use_ack=True, down_for=3)
    url = await receiver_url(receiver)
    monkeypatch.setenv("HEC_TOKEN", receiver.token)
    sink = build_sink("splunk", settings(type="splunk_hec", url=url, token_env="HEC_TOKEN", ack=True,
                                          index="ai_audit"))
    await run_until_caught_up(Exporter(sink, filled), filled)
    assert_all_delivered_once(receiver, filled)
    first = orjson.loads(receiver.bodies[0].split(b"\n")[0])
    assert first["index"] == "ai_audit" and first["sourcetype"] == "tutela:ocsf"
    assert first["fields"]["uid"] == first["event"]["metadata"]["uid"]
    assert isinstance(first["time"], float) and receiver.channels


async def test_splunk_invalid_event_is_dead_lettered_and_the_rest_delivered(
    filled: Store, receiver_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = filled.search_audit(request_id="req_7")[0]["uid"]
    receiver = siem.SplunkHec(reject_uids={bad})
    url = await receiver_url(receiver)
    monkeypatch.setenv("HEC_TOKEN", receiver.token)
    sink = build_sink("splunk", settings(type="splunk_hec", url=url, token_env="HEC_TOKEN",
                                          max_attempts=3))
    await run_until_caught_up(Exporter(sink, filled), filled)
    dead = filled.dead_letters("splunk")
    assert [d["uid"] for d in dead] == [bad] and dead[0]["attempts"] == 3
    assert bad not in receiver.uids()
    assert len(set(receiver.uids())) == len(receiver.uids()) == len(stored(filled))  # 1 cp


async def test_splunk_wrong_token_is_retried_never_dead_lettered(
    filled: Store, receiver_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = siem.SplunkHec()
    url = await receiver_url(receiver)
    monkeypatch.setenv("HEC_TOKEN", "wrong")
    exporter = Exporter(build_sink("splunk", settings(type="splunk_hec", url=url,
                                                       token_env="HEC_TOKEN")), filled)
    exporter.poll_interval = 0.01
    exporter.start()
    # Wait for the second attempt rather than a fixed time: on a busy machine the backoff
    # before it can outlast any fixed sleep.
    for _ in range(500):
        if exporter.failures >= 2:
            break
        await asyncio.sleep(0.02)
    await exporter.close()
    assert exporter.failures >= 2 and filled.sink_cursor("splunk") == (0, 0)
    assert filled.dead_letters() == []


async def test_elasticsearch_bulk_partial_failures(filled: Store, receiver_url: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rows = filled.search_audit(limit=1000, oldest_first=True)
    busy, broken = rows[10]["uid"], rows[60]["uid"]
    receiver = siem.Elasticsearch(fail_once_uids={busy}, reject_uids={broken}, down_for=2)
    url = await receiver_url(receiver)
    monkeypatch.setenv("ES_KEY", receiver.api_key)
    sink = build_sink("elastic", settings(type="elasticsearch", url=url, api_key_env="ES_KEY",
                                           max_attempts=2))
    await run_until_caught_up(Exporter(sink, filled), filled)
    assert [d["uid"] for d in filled.dead_letters("elastic")] == [broken]
    assert set(receiver.documents) == set(stored(filled)) - {broken} | {
        u for u in receiver.documents if u.startswith("chk_")
    }
    doc = receiver.documents[rows[0]["uid"]]
    assert doc["event"]["id"] == rows[0]["uid"] and doc["event"]["dataset"] == "tutela.audit"
    assert doc["gen_ai"]["provider"]["name"] == "anthropic" and doc["@timestamp"].endswith("Z")
    assert doc["ocsf"] == rows[0]["event"]


async def test_sentinel_logs_ingestion_in_gzip_batches_under_1_mb(
    sqlite_store: Store, receiver_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large, poorly compressible events force several uploads per batch.
    import os

    sqlite_store.append_audit(
        [ApiRequest(request_id=f"r{i}", outcome="ok",
                    verdicts=[{"guard": "x", "reason": os.urandom(40_000).hex()}])
         for i in range(40)]
    )
    receiver = siem.Sentinel()
    url = await receiver_url(receiver)
    monkeypatch.setenv("SENTINEL_SECRET", receiver.client_secret)
    sink = build_sink("sentinel", settings(
        type="sentinel", url=url, dcr_immutable_id=receiver.dcr, client_id=receiver.client_id,
        client_secret_env="SENTINEL_SECRET", tenant_id=receiver.tenant,
        token_url=f"{url}/{receiver.tenant}/oauth2/v2.0/token",
    ))
    await run_until_caught_up(Exporter(sink, sqlite_store), sqlite_store)
    assert len(receiver.sizes) >= 3 and max(receiver.sizes) <= 1_000_000
    assert sorted(receiver.uids()) == sorted(stored(sqlite_store))
    assert len(receiver.issued) == 1  # the token is reused until it expires


async def test_webhook_is_signed(filled: Store, receiver_url: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = siem.Webhook(down_for=2)
    url = await receiver_url(receiver)
    monkeypatch.setenv("HOOK_SECRET", receiver.secret.decode())
    sink = build_sink("hook", settings(type="webhook", url=url + "/hook", secret_env="HOOK_SECRET"))
    await run_until_caught_up(Exporter(sink, filled), filled)
    assert_all_delivered_once(receiver, filled)


async def test_a_sink_down_for_a_while_gets_everything_exactly_once(
    filled: Store, receiver_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = siem.Elasticsearch(down_for=25)
    url = await receiver_url(receiver)
    monkeypatch.setenv("ES_KEY", receiver.api_key)
    sink = build_sink("elastic", settings(type="elasticsearch", url=url, api_key_env="ES_KEY"))
    exporter = Exporter(sink, filled)
    await run_until_caught_up(exporter, filled)
    assert exporter.failures >= 25
    assert_all_delivered_once(receiver, filled)


async def test_jsonl_files_rotate_and_keep_everything(filled: Store, tmp_path: Path) -> None:
    path = tmp_path / "out" / "audit.jsonl"
    sink = build_sink("file", settings(type="jsonl", path=str(path), rotate_bytes=20_000,
                                        keep_files=50))
    await run_until_caught_up(Exporter(sink, filled), filled)
    files = sorted(path.parent.glob("audit.jsonl*"))
    assert len(files) > 3
    lines = [orjson.loads(line) for f in files for line in f.read_bytes().splitlines()]
    uids = [e["metadata"]["uid"] for e in lines if e["metadata"]["event_code"] != "audit.checkpoint"]
    assert sorted(uids) == sorted(stored(filled))
    assert all(f.stat().st_size <= 20_000 for f in files)


async def test_exporter_resumes_from_its_cursor_after_restart(
    filled: Store, receiver_url: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = siem.Elasticsearch()
    url = await receiver_url(receiver)
    monkeypatch.setenv("ES_KEY", receiver.api_key)
    config = settings(type="elasticsearch", url=url, api_key_env="ES_KEY")
    first = Exporter(build_sink("elastic", config), filled)
    assert await first.step() == 50
    await first.close()
    filled.append_audit([ApiRequest(request_id="late", outcome="ok")])
    seq, head = filled.chain_head()
    filled.add_checkpoint(Signer.generate().sign(seq, head, 2))
    await run_until_caught_up(Exporter(build_sink("elastic", config), filled), filled)
    delivered = [u for u in receiver.documents if not u.startswith("chk_")]
    assert sorted(delivered) == sorted(stored(filled))
    assert sum(1 for u in receiver.documents if u.startswith("chk_")) == 2


def test_gzip_roundtrip_helper_sanity() -> None:
    assert gzip.decompress(gzip.compress(b"[]")) == b"[]"

"""The audit trail end to end, with real gateway processes.

- Crash: under load the gateway is killed with SIGKILL; every response a client received
  has its audit event, and after a restart the chain verifies.
- A sink that is down does not stop the gateway; when it recovers it gets every event.
- No API key, token or prompt text reaches any audit event or exporter payload.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tutela.store.database import Store
from tutela.testing import siem
from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-audit")]

MODEL = "claude-sonnet-4-6"


def _one_request(host: str, port: int, key: str, stream: bool, n: int) -> str | None:
    """One request read to its end; the audit id if the client got a complete answer."""
    body = json.dumps({"model": MODEL, "max_tokens": 30, "stream": stream,
                       "messages": [{"role": "user", "content": f"question {n}"}]})
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("POST", "/v1/messages", body=body,
                           headers={"x-api-key": key, "content-type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            return None
        if stream and b"event: message_stop" not in data:
            return None
        if not stream and b'"stop_reason"' not in data:
            return None
        return response.getheader("x-tutela-request-id")
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _load(gateway: GatewayProcess, seconds: float, received: list[str], stop: threading.Event,
          workers: int = 6) -> list[threading.Thread]:
    host, port = gateway.base_url.removeprefix("http://").split(":")

    def run(worker: int) -> None:
        n = 0
        while not stop.is_set():
            request_id = _one_request(host, int(port), gateway.admin_key, n % 2 == 0, n)
            if request_id:
                received.append(request_id)
            n += 1

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in range(workers)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sigkill_under_load_loses_no_answered_request(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    db_url = None
    if database == "postgres":
        request.applymarker(pytest.mark.postgres)
        db_url = request.getfixturevalue("pg_database")
    gateway = GatewayProcess(tmp_path, db_url=db_url).start()
    received: list[str] = []
    stop = threading.Event()
    threads = _load(gateway, 1.5, received, stop)
    time.sleep(2.0)
    assert gateway.process is not None
    gateway.process.kill()  # SIGKILL: no flush, no shutdown hooks
    gateway.process.wait(5)
    stop.set()
    for thread in threads:
        thread.join(10)
    gateway.stop()
    assert len(received) > 50, "the load did not get going"
    # Restart on the same database and folder: the journal a killed process leaves is
    # replayed, then every answered request has its event, and the chain verifies.
    again = GatewayProcess(tmp_path, db_url=gateway.db_url).start()
    try:
        sdk = anthropic.Anthropic(base_url=again.base_url, api_key=gateway.admin_key, max_retries=0)
        sdk.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
        result = again.cli("audit", "verify", "--json", check=False)
    finally:
        again.stop()
    store = Store(gateway.db_url)
    recorded = {row["event"]["api"]["request"]["uid"]
                for row in store.search_audit(event_type="api.request", limit=1_000_000)}
    store.close()
    lost = [r for r in received if r not in recorded]
    assert lost == [], f"{len(lost)} of {len(received)} answered requests have no audit event"
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], report
    assert report["records"] >= len(received) + 1
    store = Store(gateway.db_url)  # usage rows still in memory at the kill were rebuilt
    metered = {row["request_id"] for row in store.usage(limit=1_000_000)}
    store.close()
    assert [r for r in received if r not in metered] == []


@pytest.fixture
def pg_database(pg_unavailable: str | None) -> Any:
    if pg_unavailable:
        pytest.skip(pg_unavailable)
    import uuid

    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    name = "tutela_crash_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sink_down_then_up_and_no_secret_anywhere(tmp_path: Path) -> None:
    """A webhook sink that is down at first: the gateway serves regardless; once the sink
    is up it has every event exactly once. Neither the audit rows, the JSONL export nor
    the webhook bodies contain a key, a token or the prompt."""
    loop = asyncio.new_event_loop()
    receiver = siem.Webhook(down_for=6)
    runner, url = loop.run_until_complete(siem.serve(receiver.app()))
    serving = threading.Thread(target=loop.run_forever, daemon=True)
    serving.start()
    prompt = "my password is Tr0ub4dor&3 and the launch code is 0000"
    config = (
        "audit:\n  exporters:\n"
        f"    hook: {{type: webhook, url: '{url}/hook', secret_env: HOOK_SECRET,"
        " backoff_initial: 0.05, backoff_max: 0.2}\n"
        f"    file: {{type: jsonl, path: '{tmp_path / 'audit.jsonl'}'}}\n"
    )
    try:
        with GatewayProcess(tmp_path, config_text=config,
                            env={"HOOK_SECRET": receiver.secret.decode()}) as gateway:
            sdk = anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.admin_key,
                                      max_retries=0)
            for _ in range(5):
                sdk.messages.create(model=MODEL, max_tokens=10,
                                    messages=[{"role": "user", "content": prompt}])
            with pytest.raises(anthropic.AuthenticationError):
                anthropic.Anthropic(base_url=gateway.base_url, api_key="tutela_sk_" + "0" * 16
                                    + "_" + "A" * 43, max_retries=0).models.list()
            store = Store(gateway.db_url)
            head = store.chain_head()[0]
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and store.sink_cursor("hook")[0] < head:
                time.sleep(0.1)
            assert store.sink_cursor("hook")[0] >= head
            rows = store.search_audit(limit=10_000)
            store.close()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        serving.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()
    uids = [e["metadata"]["uid"] for e in receiver.received
            if e["metadata"]["event_code"] != "audit.checkpoint"]
    # Exactly once by uid: a retry after a lost answer may repeat a delivery, and the
    # receiver keys on metadata.uid, so the set must match with nothing missing.
    assert set(uids) == {r["uid"] for r in rows}, (len(uids), len(rows))
    assert receiver.requests > 6  # it was down, then caught up
    secret_part = gateway.admin_key[len("tutela_sk_") + 17 :]  # after "<16 hex id>_"
    assert len(secret_part) == 43
    payloads = [r["data"] for r in rows] + [b.decode() for b in receiver.bodies] + [
        (tmp_path / "audit.jsonl").read_text()
    ]
    for text in payloads:
        assert prompt not in text and "Tr0ub4dor" not in text
        assert gateway.admin_key not in text and secret_part not in text
        assert "A" * 43 not in text

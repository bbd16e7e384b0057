"""Upstream faults, injected by a local stand-in, reach clients as the right Anthropic errors."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from tutela.testing.process import GatewayProcess
from tutela.testing.standin import Fault, StandInThread

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-faults")]

MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "Summarise the quarterly report."}]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInThread]:
    with StandInThread() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    standin: StandInThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    policy = f"""
default_upstream: standin
upstreams:
  standin:
    type: anthropic
    base_url: {standin.base_url}
    api_key_env: TUTELA_TEST_UPSTREAM_KEY
    timeouts: {{first_byte: 1.0, idle: 1.0}}
    retries: {{max_attempts: 3, backoff_initial: 0.01, backoff_max: 2.0}}
    circuit_breaker: {{failure_threshold: 1000, reset_after: 1}}
guards:
  rate_limits:
    per_key: {{requests_per_minute: 100000}}
"""
    env = {"TUTELA_TEST_UPSTREAM_KEY": "sk-ant-upstream-test-key"}
    with GatewayProcess(tmp_path_factory.mktemp("faults"), config_text=policy, env=env) as process:
        yield process


@pytest.fixture(autouse=True)
def clean(standin: StandInThread) -> None:
    standin.reset()


def sdk(gateway: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.base_url, api_key=gateway.admin_key, max_retries=0, timeout=20
    )


def usage_row(gateway: GatewayProcess, request_id: str) -> tuple[Any, ...]:
    db = gateway.db_url.removeprefix("sqlite:///")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT status, outcome, input_tokens, output_tokens FROM usage_records "
                "WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        if row:
            return tuple(row)
        time.sleep(0.05)
    raise AssertionError(f"no usage record for {request_id}")


def logged(gateway: GatewayProcess, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in gateway.stderr_text().splitlines():
            if request_id in line and '"tutela.access"' in line:
                return dict(json.loads(line))
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {request_id}")


def request_id_of(error: anthropic.APIStatusError) -> str:
    return error.response.headers["x-tutela-request-id"]


def test_credentials_are_replaced_and_anthropic_headers_forwarded(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    client = anthropic.Anthropic(
        base_url=gateway.base_url,
        api_key=gateway.admin_key,
        max_retries=0,
        default_headers={"anthropic-beta": "beta-a,beta-b", "anthropic-version": "2023-06-01"},
    )
    client.messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    seen = standin.requests[-1]
    assert seen.headers["x-api-key"] == "sk-ant-upstream-test-key"
    assert gateway.admin_key not in json.dumps(seen.headers)
    assert "authorization" not in seen.headers
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["anthropic-beta"] == "beta-a,beta-b"
    assert seen.json()["messages"] == PROMPT


def test_new_request_fields_pass_through_unchanged(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    sdk(gateway).messages.create(
        model=MODEL, max_tokens=20, messages=PROMPT, extra_body={"future_field": {"nested": [1, 2]}}
    )
    assert standin.requests[-1].json()["future_field"] == {"nested": [1, 2]}


def test_timeout_gives_gateway_timeout(gateway: GatewayProcess, standin: StandInThread) -> None:
    standin.faults.append(Fault("delay", delay=3.0))
    with pytest.raises(anthropic.GatewayTimeoutError) as info:
        sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    assert info.value.body["error"]["type"] == "timeout_error"  # type: ignore[index]
    request_id = request_id_of(info.value)
    assert usage_row(gateway, request_id)[:2] == (504, "upstream_error")
    assert logged(gateway, request_id)["error_type"] == "timeout_error"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, anthropic.InternalServerError),
        (529, anthropic.OverloadedError),
    ],
)
def test_transient_errors_are_retried_then_relayed(
    gateway: GatewayProcess, standin: StandInThread, status: int, error: type[Exception]
) -> None:
    standin.faults.append(Fault("status", status=status))
    assert sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT).content
    assert len(standin.requests) == 2

    standin.reset()
    standin.faults.extend([Fault("status", status=status)] * 3)
    with pytest.raises(error) as info:
        sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    assert len(standin.requests) == 3
    assert info.value.status_code == status  # type: ignore[attr-defined]
    request_id = request_id_of(info.value)  # type: ignore[arg-type]
    assert usage_row(gateway, request_id)[:2] == (status, "upstream_error")
    assert logged(gateway, request_id)["status"] == status


def test_429_retry_after_is_honoured_or_relayed(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    standin.faults.append(Fault("status", status=429, retry_after=0.2))
    started = time.monotonic()
    assert sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT).content
    assert time.monotonic() - started >= 0.2
    assert len(standin.requests) == 2

    standin.reset()
    standin.faults.append(Fault("status", status=429, retry_after=60))  # longer than backoff_max
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    assert len(standin.requests) == 1
    assert info.value.response.headers["retry-after"] == "60"
    assert usage_row(gateway, request_id_of(info.value))[:2] == (429, "upstream_error")


def test_connection_reset_before_response(gateway: GatewayProcess, standin: StandInThread) -> None:
    standin.faults.append(Fault("reset_before"))
    assert sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT).content

    standin.reset()
    standin.faults.extend([Fault("reset_before")] * 3)
    with pytest.raises(anthropic.InternalServerError) as info:
        sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    assert info.value.status_code == 502
    assert str(standin.port) not in str(info.value.body)  # upstream address stays in the log
    assert usage_row(gateway, request_id_of(info.value))[:2] == (502, "upstream_error")


def sse_events(
    gateway: GatewayProcess, body: dict[str, Any]
) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    request = urllib.request.Request(
        gateway.base_url + "/v1/messages",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "x-api-key": gateway.admin_key,
            "content-type": "application/json",
            "anthropic-version": "2023-06-01",
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read().decode()
        request_id = response.headers["x-tutela-request-id"]
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events, request_id


STREAM = {"model": MODEL, "max_tokens": 100, "stream": True, "messages": PROMPT}


def test_connection_reset_during_stream_ends_with_error_event(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    standin.faults.append(Fault("reset_during", after_events=3))
    events, request_id = sse_events(gateway, STREAM)
    assert [name for name, _ in events[:3]] == ["message_start", "ping", "content_block_start"]
    name, data = events[-1]
    assert name == "error" and data["error"]["type"] == "api_error"
    assert data["request_id"] == request_id
    status, outcome, input_tokens, _ = usage_row(gateway, request_id)
    assert (status, outcome) == (
        200,
        "upstream_error",
    ) and input_tokens > 0  # metered from message_start
    standin.faults.append(Fault("reset_during", after_events=3))
    with pytest.raises(anthropic.APIStatusError):
        with sdk(gateway).messages.stream(model=MODEL, max_tokens=100, messages=PROMPT) as stream:
            stream.get_final_message()


def test_mid_stream_error_event_is_relayed(gateway: GatewayProcess, standin: StandInThread) -> None:
    standin.faults.append(Fault("error_event", after_events=4))
    events, request_id = sse_events(gateway, STREAM)
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "overloaded_error"
    assert usage_row(gateway, request_id)[1] == "upstream_error"
    assert logged(gateway, request_id)["error_type"] == "overloaded_error"
    standin.faults.append(Fault("error_event", after_events=4))
    with pytest.raises(anthropic.APIStatusError, match="overloaded"):
        with sdk(gateway).messages.stream(model=MODEL, max_tokens=100, messages=PROMPT) as stream:
            stream.get_final_message()


def metric(gateway: GatewayProcess, name: str) -> float:
    with urllib.request.urlopen(gateway.admin_url + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"metric {name} not found")


def test_client_disconnect_cancels_the_upstream_stream(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    standin.faults.append(Fault("slow_stream", delay=0.3))
    host, port = gateway.base_url.removeprefix("http://").split(":")
    body = json.dumps(STREAM).encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            + f"x-api-key: {gateway.admin_key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        first = conn.recv(65536)
        assert b"200" in first.split(b"\r\n", 1)[0]
        deadline = time.monotonic() + 5
        while standin.active_streams == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert standin.active_streams == 1
    deadline = time.monotonic() + 5
    while standin.cancelled_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert standin.cancelled_streams == 1
    assert standin.completed_streams == 0
    deadline = time.monotonic() + 5
    while metric(gateway, "tutela_active_requests") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(gateway, "tutela_active_requests") == 0
    assert standin.active_streams == 0


def test_a_truncated_upstream_response_is_a_502_not_a_crash(
    gateway: GatewayProcess, standin: StandInThread
) -> None:
    standin.faults.append(Fault("reset_during"))  # JSON request: headers and half the body
    with pytest.raises(anthropic.InternalServerError) as info:
        sdk(gateway).messages.create(model=MODEL, max_tokens=20, messages=PROMPT)
    assert info.value.status_code == 502
    assert info.value.body["type"] == "error"  # type: ignore[index]

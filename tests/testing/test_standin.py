"""The stand-in upstream speaks Anthropic's wire format and injects faults on demand."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest

from tutela.testing.standin import Fault, StandIn, StandInThread
from tutela.upstream import offline

REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")
TOOL: dict[str, Any] = {
    "name": "lookup",
    "description": "Look a word up",
    "input_schema": {
        "type": "object",
        "properties": {"word": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["word", "limit"],
    },
}


def body(text: str = "Hello stand-in", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in raw.split(b"\n\n"):
        if chunk:
            name, data = chunk.split(b"\n")
            events.append((name[len(b"event: ") :].decode(), orjson.loads(data[len(b"data: ") :])))
    return events


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    async with StandIn() as s:
        yield s


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def read_events_until_error(
    response: aiohttp.ClientResponse,
) -> tuple[list[bytes], BaseException | None]:
    lines: list[bytes] = []
    try:
        async for line in response.content:
            lines.append(line)
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as exc:
        return lines, exc
    return lines, None


# ---------------------------------------------------------------------- normal answers


async def test_non_stream_message(standin: StandIn, client: aiohttp.ClientSession) -> None:
    b = body()
    async with client.post(f"{standin.base_url}/v1/messages", json=b) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/json"
        assert REQUEST_ID.match(r.headers["request-id"])
        message = await r.json()
    assert message["id"].startswith("msg_")
    assert {**message, "id": ""} == offline.create_message(b, "")


async def test_repeated_bodies_get_fresh_ids_from_the_cache(
    standin: StandIn, client: aiohttp.ClientSession
) -> None:
    seen = []
    for _ in range(3):
        async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
            seen.append(await r.json())
            request_ids = r.headers["request-id"]
            assert REQUEST_ID.match(request_ids)
    assert len({m["id"] for m in seen}) == 3
    assert all({**m, "id": ""} == {**seen[0], "id": ""} for m in seen)


async def test_stream_message(standin: StandIn, client: aiohttp.ClientSession) -> None:
    b = body(tools=[TOOL], stream=True)
    async with client.post(f"{standin.base_url}/v1/messages", json=b) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert REQUEST_ID.match(r.headers["request-id"])
        raw = await r.read()
    events = parse_sse(raw)
    names = [n for n, _ in events]
    assert names[:2] == ["message_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    message_id = events[0][1]["message"]["id"]
    assert raw == b"".join(offline.stream_message(b, message_id))
    assert standin.completed_streams == 1
    assert standin.active_streams == 0
    assert standin.cancelled_streams == 0


async def test_count_tokens_and_models(standin: StandIn, client: aiohttp.ClientSession) -> None:
    b = body(system="Be brief.")
    b.pop("max_tokens")
    async with client.post(f"{standin.base_url}/v1/messages/count_tokens", json=b) as r:
        assert r.status == 200
        assert await r.json() == {"input_tokens": offline.count_tokens(b)}

    ids = [m["id"] for m in offline.OFFLINE_MODELS]
    async with client.get(f"{standin.base_url}/v1/models", params={"limit": "2"}) as r:
        page = await r.json()
    assert [m["id"] for m in page["data"]] == ids[:2]
    assert page["has_more"] is True
    async with client.get(
        f"{standin.base_url}/v1/models", params={"limit": "2", "after_id": page["last_id"]}
    ) as r:
        page2 = await r.json()
    assert [m["id"] for m in page2["data"]] == ids[2:4]
    async with client.get(
        f"{standin.base_url}/v1/models", params={"before_id": page2["first_id"]}
    ) as r:
        back = await r.json()
    assert [m["id"] for m in back["data"]] == ids[:2]
    assert back["has_more"] is False
    async with client.get(f"{standin.base_url}/v1/models") as r:
        assert len((await r.json())["data"]) == len(ids)

    async with client.get(f"{standin.base_url}/v1/models/claude-opus-4-6") as r:
        assert r.status == 200
        assert (await r.json())["id"] == "claude-opus-4-6"
    async with client.get(f"{standin.base_url}/v1/models/nope") as r:
        assert r.status == 404
        assert (await r.json())["error"]["type"] == "not_found_error"


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "error_type"),
    [
        ("POST", "/v1/messages", b"{not json", 400, "invalid_request_error"),
        ("POST", "/v1/messages", b'{"model":"m","messages":[]}', 400, "invalid_request_error"),
        ("POST", "/v1/messages/count_tokens", b"[]", 400, "invalid_request_error"),
        ("GET", "/v1/models?limit=0", b"", 400, "invalid_request_error"),
        ("GET", "/v1/models?limit=1001", b"", 400, "invalid_request_error"),
        ("GET", "/v1/nothing", b"", 404, "not_found_error"),
        ("GET", "/v1/messages", b"", 405, "invalid_request_error"),
    ],
)
async def test_bad_requests(
    standin: StandIn,
    client: aiohttp.ClientSession,
    method: str,
    path: str,
    payload: bytes,
    status: int,
    error_type: str,
) -> None:
    async with client.request(method, standin.base_url + path, data=payload) as r:
        assert r.status == status
        error = await r.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == error_type
    assert error["request_id"] == r.headers["request-id"]


async def test_offline_markers_map_to_http_errors(
    standin: StandIn, client: aiohttp.ClientSession
) -> None:
    for marker, status, etype in (
        ("[offline:error:overloaded]", 529, "overloaded_error"),
        ("[offline:error:api]", 500, "api_error"),
    ):
        for stream in (False, True):
            async with client.post(
                f"{standin.base_url}/v1/messages", json=body(marker, stream=stream)
            ) as r:
                assert r.status == status
                assert (await r.json())["error"]["type"] == etype
    async with client.post(
        f"{standin.base_url}/v1/messages",
        json=body("go [offline:error:midstream]", stream=True),
    ) as r:
        assert r.status == 200
        events = parse_sse(await r.read())
    assert events[-1][0] == "error"


async def test_records_requests(standin: StandIn, client: aiohttp.ClientSession) -> None:
    raw = orjson.dumps(body())
    async with client.post(
        f"{standin.base_url}/v1/messages?beta=true",
        data=raw,
        headers={"X-Api-Key": "sk-test", "Anthropic-Version": "2023-06-01"},
    ) as r:
        assert r.status == 200
    [seen] = standin.requests
    assert seen.method == "POST"
    assert seen.path == "/v1/messages"
    assert seen.query == {"beta": "true"}
    assert seen.headers["x-api-key"] == "sk-test"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.body == raw
    assert seen.json() == body()
    standin.reset()
    assert standin.requests == []


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (429, "rate_limit_error"),
        (500, "api_error"),
        (503, "api_error"),
        (529, "overloaded_error"),
        (401, "authentication_error"),
        (413, "request_too_large"),
    ],
)
async def test_status_fault(
    standin: StandIn, client: aiohttp.ClientSession, status: int, error_type: str
) -> None:
    standin.faults.append(Fault("status", status=status, retry_after=2 if status == 429 else None))
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == status
        assert r.headers["Content-Type"] == "application/json"
        error = await r.json()
        if status == 429:
            assert r.headers["retry-after"] == "2"
        else:
            assert "retry-after" not in r.headers
    assert error["type"] == "error"
    assert error["error"]["type"] == error_type
    assert error["error"]["message"]
    assert error["request_id"] == r.headers["request-id"]
    # The fault was used up: the next request succeeds.
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == 200


async def test_faults_are_consumed_in_order(
    standin: StandIn, client: aiohttp.ClientSession
) -> None:
    standin.faults.extend([Fault("status", status=529), Fault("status", status=500)])
    statuses = []
    for _ in range(3):
        async with client.get(f"{standin.base_url}/v1/models") as r:
            statuses.append(r.status)
    assert statuses == [529, 500, 200]
    assert not standin.faults


async def test_delay_fault_triggers_client_timeouts(
    standin: StandIn, client: aiohttp.ClientSession
) -> None:
    standin.faults.append(Fault("delay", delay=0.5))
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        async with client.post(
            f"{standin.base_url}/v1/messages",
            json=body(),
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass
    assert time.monotonic() - started < 0.4

    standin.faults.append(Fault("delay", delay=0.2))
    started = time.monotonic()
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == 200
        await r.json()
    assert time.monotonic() - started >= 0.2


async def test_reset_before(standin: StandIn, client: aiohttp.ClientSession) -> None:
    standin.faults.append(Fault("reset_before"))
    with pytest.raises(aiohttp.ClientConnectionError):
        async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
            await r.read()
    assert len(standin.requests) == 1
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == 200


async def test_reset_during_stream(standin: StandIn, client: aiohttp.ClientSession) -> None:
    standin.faults.append(Fault("reset_during", after_events=3))
    async with client.post(f"{standin.base_url}/v1/messages", json=body(stream=True)) as r:
        assert r.status == 200
        lines, error = await read_events_until_error(r)
    assert isinstance(error, aiohttp.ClientPayloadError)
    events = parse_sse(b"".join(lines))
    assert [n for n, _ in events] == ["message_start", "ping", "content_block_start"]
    # The stand-in chose to reset: that is not a client cancellation.
    assert standin.cancelled_streams == 0
    assert standin.active_streams == 0


async def test_reset_during_json(standin: StandIn, client: aiohttp.ClientSession) -> None:
    standin.faults.append(Fault("reset_during"))
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await r.read()


async def test_error_event_fault(standin: StandIn, client: aiohttp.ClientSession) -> None:
    standin.faults.append(Fault("error_event", after_events=4))
    async with client.post(f"{standin.base_url}/v1/messages", json=body(stream=True)) as r:
        assert r.status == 200
        events = parse_sse(await r.read())
    assert [n for n, _ in events] == [
        "message_start",
        "ping",
        "content_block_start",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    assert standin.completed_streams == 1

    standin.faults.append(Fault("error_event"))
    async with client.post(f"{standin.base_url}/v1/messages", json=body()) as r:
        assert r.status == 529
        assert (await r.json())["error"]["type"] == "overloaded_error"


async def test_slow_stream_spaces_events(standin: StandIn, client: aiohttp.ClientSession) -> None:
    standin.faults.append(Fault("slow_stream", delay=0.03))
    arrivals: list[float] = []
    async with client.post(f"{standin.base_url}/v1/messages", json=body(stream=True)) as r:
        async for line in r.content:
            if line.startswith(b"event: "):
                arrivals.append(time.monotonic())
    assert len(arrivals) >= 6
    assert arrivals[-1] - arrivals[0] >= 0.03 * (len(arrivals) - 1) * 0.9
    assert standin.completed_streams == 1


async def test_client_disconnect_counts_a_cancelled_stream(
    standin: StandIn, client: aiohttp.ClientSession
) -> None:
    standin.faults.append(Fault("slow_stream", delay=0.05))
    r = await client.post(f"{standin.base_url}/v1/messages", json=body(stream=True))
    assert await r.content.readline() == b"event: message_start\n"
    assert standin.active_streams == 1
    r.close()  # drop the connection mid-stream
    for _ in range(100):
        if standin.cancelled_streams:
            break
        await asyncio.sleep(0.01)
    assert standin.cancelled_streams == 1
    assert standin.active_streams == 0
    assert standin.completed_streams == 0


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("status", status=200)
    with pytest.raises(ValueError):
        Fault("delay", delay=-1)


# ---------------------------------------------------------------------- thread + SDK


def test_official_sdk_against_standin_thread() -> None:
    with StandInThread() as s:
        sdk = anthropic.Anthropic(base_url=s.base_url, api_key="sk-ant-test", max_retries=0)
        params: dict[str, Any] = {
            # Not claude-sonnet-4-5: this SDK warns that it is deprecated.
            "model": "claude-offline-1",
            "max_tokens": 300,
            "messages": [{"role": "user", "content": "Name three rivers."}],
        }
        created = sdk.messages.create(**params)
        assert created.type == "message"
        first = created.content[0]
        assert first.type == "text"
        assert first.text.startswith("Offline model reply to: Name three rivers.")
        assert created.stop_reason == "end_turn"
        assert created.usage.input_tokens == offline.count_tokens(params)

        with sdk.messages.stream(**params) as stream:
            final = stream.get_final_message()
        assert final.model_dump(exclude={"id"}) == created.model_dump(exclude={"id"})

        tool_params = {**params, "tools": [TOOL]}
        tool_created = sdk.messages.create(**tool_params)
        with sdk.messages.stream(**tool_params) as stream:
            tool_final = stream.get_final_message()
        assert tool_final.stop_reason == "tool_use"
        assert tool_final.model_dump(exclude={"id"}) == tool_created.model_dump(exclude={"id"})
        tool_block = tool_final.content[-1]
        assert tool_block.type == "tool_use"
        assert tool_block.input == {"word": "offline word", "limit": 1}

        counted = sdk.messages.count_tokens(
            model=params["model"], messages=params["messages"], system="Be brief."
        )
        assert counted.input_tokens == offline.count_tokens({**params, "system": "Be brief."})

        ids = [m.id for m in sdk.models.list(limit=2)]  # auto-paginates through after_id
        assert ids == [m["id"] for m in offline.OFFLINE_MODELS]
        assert sdk.models.retrieve("claude-opus-4-6").display_name

        s.faults.append(Fault("status", status=429, retry_after=1))
        with pytest.raises(anthropic.RateLimitError) as info:
            sdk.messages.create(**params)
        assert info.value.response.headers["retry-after"] == "1"
        s.faults.append(Fault("status", status=529))
        with pytest.raises(anthropic.APIStatusError) as status_info:
            sdk.messages.create(**params)
        assert status_info.value.status_code == 529

        paths = [r.path for r in s.requests]
        assert paths.count("/v1/messages") == 6
        assert "/v1/messages/count_tokens" in paths
        assert all("anthropic-version" in r.headers for r in s.requests)
        sdk.close()


async def test_sdk_stream_error_event_raises() -> None:
    async with StandIn() as s:
        sdk = anthropic.AsyncAnthropic(base_url=s.base_url, api_key="sk-ant-test", max_retries=0)
        s.faults.append(Fault("error_event", after_events=3))
        with pytest.raises(anthropic.APIStatusError):
            async with sdk.messages.stream(**body()) as stream:
                await stream.get_final_message()
        await sdk.close()


def test_cli_serves() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "tutela.testing.standin", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            match = re.fullmatch(r"standin listening on (http://127\.0\.0\.1:(\d+))", line)
            assert match, line
            with anthropic.Anthropic(base_url=match.group(1), api_key="k", max_retries=0) as sdk:
                message = sdk.messages.create(**body())
            assert message.content[0].type == "text"
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert stderr == ""

"""The lean HTTP/1.1 upstream client: framing, keep-alive reuse, refusals, aborts."""

from __future__ import annotations

import pytest

from tutela.testing.standin import Fault, StandIn
from tutela.upstream.http1 import Http1Pool, UpstreamConnectionError

BODY = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}'
HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01"}


async def test_requests_reuse_one_connection_and_read_bodies() -> None:
    async with StandIn() as standin:
        pool = Http1Pool(standin.base_url, max_connections=4, connect_timeout=5)
        try:
            for _ in range(3):
                response = await pool.request("POST", "/v1/messages", HEADERS, BODY, idle_timeout=5)
                assert response.status == 200
                assert response.header(
                    "content-type",
                ).startswith("application/json")  # type: ignore[union-attr]
                assert b'"type":"message"' in await response.read()
            assert len(pool._idle) == 1  # one keep-alive connection served all three
            seen = standin.requests[-1]
            assert seen.headers["host"] == standin.base_url.removeprefix("http://")
            assert seen.headers["anthropic-version"] == "2023-06-01"
            assert seen.body == BODY
        finally:
            await pool.close()


async def test_streams_arrive_in_chunks_and_abort_drops_the_connection() -> None:
    async with StandIn() as standin:
        standin.faults.append(Fault("slow_stream", delay=0.2))
        pool = Http1Pool(standin.base_url, max_connections=4, connect_timeout=5)
        try:
            body = BODY.replace(b'"max_tokens":5', b'"max_tokens":5,"stream":true')
            response = await pool.request("POST", "/v1/messages", HEADERS, body, idle_timeout=5)
            chunks = response.chunks()
            first = await chunks.__anext__()
            assert first.startswith(b"event: message_start")
            response.abort()
            await chunks.aclose()
            assert pool._idle == []
        finally:
            await pool.close()


async def test_reset_before_response_is_a_connection_error() -> None:
    async with StandIn() as standin:
        standin.faults.append(Fault("reset_before"))
        pool = Http1Pool(standin.base_url, max_connections=1, connect_timeout=5)
        try:
            with pytest.raises(UpstreamConnectionError):
                await pool.request("POST", "/v1/messages", HEADERS, BODY, idle_timeout=5)
            # the slot was given back: the next request gets through
            response = await pool.request("POST", "/v1/messages", HEADERS, BODY, idle_timeout=5)
            assert response.status == 200
            await response.read()
        finally:
            await pool.close()


async def test_nothing_listening_is_a_connection_error() -> None:
    pool = Http1Pool("http://127.0.0.1:1", max_connections=1, connect_timeout=2)
    with pytest.raises(UpstreamConnectionError, match="cannot connect"):
        await pool.request("GET", "/v1/models", {}, b"", idle_timeout=1)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/messages HTTP/1.1\r\nx: y", {}),
        ("v1/messages", {}),
        ("/v1/messages", {"anthropic-beta": "a\r\nx-injected: 1"}),
        ("/v1/messages", {"x\nbad": "v"}),
    ],
)
async def test_header_and_target_injection_is_refused(path: str, headers: dict[str, str]) -> None:
    pool = Http1Pool("http://127.0.0.1:9", max_connections=1, connect_timeout=1)
    with pytest.raises(ValueError, match=r"forbidden|absolute path"):
        await pool.request("POST", path, headers, b"", idle_timeout=1)


def test_only_http_urls() -> None:
    with pytest.raises(ValueError):
        Http1Pool("ftp://example.test", max_connections=1, connect_timeout=1)


def test_relayed_headers_keep_anthropic_ones_but_withhold_the_organisation() -> None:
    from tutela.upstream.base import relayed_headers

    relayed = dict(
        relayed_headers(
            [
                ("Request-Id", "req_1"),
                ("anthropic-ratelimit-requests-remaining", "9"),
                ("anthropic-organization-id", "org-secret"),
                ("Set-Cookie", "x=y"),
                ("Content-Type", "application/json"),
            ]
        )
    )
    assert relayed == {
        b"request-id": b"req_1",
        b"anthropic-ratelimit-requests-remaining": b"9",
        b"content-type": b"application/json",
    }

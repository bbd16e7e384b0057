"""Rate limits and token budgets, with the in-process and the Redis counters."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tutela.counters import Counters, Limit, MemoryCounters, RedisCounters
from tutela.errors import ErrorKind
from tutela.guard import StreamEvent
from tutela.guards.rate_limits import RateLimitGuard
from tutela.policy import RateLimit, RateLimitSettings
from tutela.types import Exchange, Principal

REDIS_URL = os.environ.get("TUTELA_TEST_REDIS", "redis://127.0.0.1:6379/15")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    try:
        import redis.asyncio as aioredis

        client = aioredis.from_url(REDIS_URL)
        await client.ping()
        await client.aclose()
    except Exception as exc:
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {type(exc).__name__}")
    shared = RedisCounters(REDIS_URL)
    shared.prefix = f"tutela-test:{uuid.uuid4().hex}:"
    yield shared
    await shared.close()


def exchange(key: str = "k1", workspace: str = "w1") -> Exchange:
    return Exchange(
        request_id="r",
        endpoint="messages",
        method="POST",
        headers={},
        raw_body=b"",
        body={},
        principal=Principal(
            key_id=key, workspace_id=workspace, workspace="default", role="analyst"
        ),
    )


def guard(counters: Counters, **settings: Any) -> RateLimitGuard:
    return RateLimitGuard(RateLimitSettings(**settings), counters)


async def test_requests_per_minute_refuses_with_retry_after(counters: Counters) -> None:
    g = guard(counters, per_key=RateLimit(requests_per_minute=3))
    for _ in range(3):
        assert not (await g.check_request(exchange())).blocked
    verdict = await g.check_request(exchange())
    assert verdict.blocked and verdict.error is ErrorKind.RATE_LIMIT
    assert verdict.retry_after is not None and 0 < verdict.retry_after <= 20.5
    assert verdict.findings[0].cls == "rate_limit.key.requests"
    # another key is not affected
    assert not (await g.check_request(exchange(key="k2"))).blocked


async def test_workspace_limit_spans_keys(counters: Counters) -> None:
    g = guard(counters, per_key=RateLimit(), per_workspace=RateLimit(requests_per_minute=2))
    assert not (await g.check_request(exchange(key="a"))).blocked
    assert not (await g.check_request(exchange(key="b"))).blocked
    verdict = await g.check_request(exchange(key="c"))
    assert verdict.blocked and "workspace" in verdict.reason


async def test_token_budget_is_charged_from_streamed_usage(counters: Counters) -> None:
    g = guard(counters, per_key=RateLimit(tokens_per_day=100))
    ex = exchange()
    assert not (await g.check_request(ex)).blocked
    ex.usage.merge({"input_tokens": 40, "output_tokens": 1})
    g.check_event(ex, StreamEvent(event="message_start", data={}, raw=b""))
    ex.usage.merge({"output_tokens": 70})
    g.check_event(ex, StreamEvent(event="message_delta", data={}, raw=b""))
    g.finish(ex)  # must not charge twice
    if isinstance(counters, RedisCounters):
        await counters.flush()
    verdict = await g.check_request(exchange())
    assert verdict.blocked and verdict.findings[0].cls == "rate_limit.key.tokens_day"


async def test_non_stream_message_usage_is_charged(counters: Counters) -> None:
    g = guard(counters, per_workspace=RateLimit(tokens_per_minute=50))
    ex = exchange()
    await g.check_request(ex)
    g.check_message(ex, {"usage": {"input_tokens": 30, "output_tokens": 25}})
    if isinstance(counters, RedisCounters):
        await counters.flush()
    assert (await g.check_request(exchange(key="other"))).blocked


async def test_memory_bucket_refills_with_time() -> None:
    clock = Clock()
    counters = MemoryCounters(clock=clock)
    limit = [Limit(kind="requests", scope="key", key="rpm:k", amount=60)]
    for _ in range(60):
        assert await counters.check(limit) is None
    hit = await counters.check(limit)
    assert hit is not None and hit[1] == pytest.approx(1.0)
    clock.now += 1.0
    assert await counters.check(limit) is None


async def test_memory_token_window_resets_next_minute() -> None:
    clock = Clock()
    clock.now = 60 * 1000.0
    counters = MemoryCounters(clock=clock)
    limit = [Limit(kind="tokens_minute", scope="key", key="tpm:k", amount=10)]
    counters.charge(limit, 10)
    hit = await counters.check(limit)
    assert hit is not None and hit[1] == pytest.approx(60.0)
    clock.now += 60
    assert await counters.check(limit) is None


async def test_a_broken_redis_fails_the_check() -> None:
    counters = RedisCounters("redis://127.0.0.1:1/0")
    with pytest.raises(Exception):  # noqa: B017 - the guard pipeline turns this into a block
        await counters.check([Limit(kind="requests", scope="key", key="x", amount=1)])
    await counters.close()

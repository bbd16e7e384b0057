"""The Redis revocation channel: an announcement reaches a listener; without Redis the
announcement reports failure and nothing raises."""

from __future__ import annotations

import asyncio
import os

import pytest

from tutela.identity.revocation import RevocationListener, announce

REDIS = os.environ.get("TUTELA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _redis_down() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"Redis at 127.0.0.1:6379 is not reachable: {type(exc).__name__}"
    return None


@pytest.mark.redis
async def test_an_announced_revocation_reaches_the_listener() -> None:
    reason = _redis_down()
    if reason:
        pytest.skip(reason)
    heard: list[tuple[str, str]] = []
    got = asyncio.Event()

    def on_revoke(kind: str, ident: str) -> None:
        if ident == "k-test-123":
            heard.append((kind, ident))
            got.set()

    listener = RevocationListener(REDIS, on_revoke)
    listener.start()
    try:
        await asyncio.wait_for(listener.subscribed.wait(), 10)
        assert await asyncio.to_thread(announce, REDIS, "key", "k-test-123")
        await asyncio.wait_for(got.wait(), 10)
    finally:
        await listener.close()
    assert heard == [("key", "k-test-123")]


def test_without_redis_announce_reports_failure() -> None:
    assert announce(None, "key", "k") is False
    assert announce("redis://127.0.0.1:1/0", "key", "k") is False

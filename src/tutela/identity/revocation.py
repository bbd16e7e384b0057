"""Revocation reaches every replica at once: announced on Redis, heard by every gateway.

A gateway caches key records (and sessions) for about a second. Revoking writes the
database first, then publishes the id on ``tutela:revocations``; every gateway subscribed
drops that id from its caches immediately. Without Redis, or when the subscription is
down, the short cache lifetime still bounds how long a revoked credential works, so a lost
message delays revocation by at most the cache TTL and never cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("tutela.identity")

CHANNEL = "tutela:revocations"


def announce(redis_url: str | None, kind: str, ident: str) -> bool:
    """Publish a revocation (synchronously, for the CLI and worker threads). ``kind`` is
    ``key`` or ``session``; only ids travel, never secrets. False when not delivered."""
    if not redis_url:
        return False
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.publish(CHANNEL, f"{kind}:{ident}")
        finally:
            client.close()
    except redis.RedisError as exc:
        log.warning("revocation not announced on Redis", extra={"error": type(exc).__name__})
        return False
    return True


class RevocationListener:
    """Runs ``on_revoke(kind, ident)`` for every announcement, reconnecting after errors."""

    def __init__(self, redis_url: str, on_revoke: Callable[[str, str], None]) -> None:
        self.redis_url = redis_url
        self.on_revoke = on_revoke
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tutela-revocations")

    async def _run(self) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        while True:
            client: Any = aioredis.Redis.from_url(self.redis_url, socket_connect_timeout=2)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                self.subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None:
                        continue
                    data = message.get("data")
                    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
                    kind, _, ident = text.partition(":")
                    if ident:
                        self.on_revoke(kind, ident)
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning(
                    "revocation channel lost; relying on the cache TTL until it is back",
                    extra={"error": type(exc).__name__},
                )
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

"""Counters behind rate limits and token budgets: in this process, or shared in Redis.

Both backends implement the same two calls: ``check`` (atomically test every limit and,
when all pass, take one request from each request bucket) and ``charge`` (add spent tokens
to every token window; never blocks the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

log = logging.getLogger("tutela.counters")

LimitKind = Literal["requests", "tokens_minute", "tokens_day"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    kind: LimitKind
    scope: str
    key: str
    amount: int


def _window(kind: str, now: float) -> tuple[int, float]:
    """Window id and seconds until it ends."""
    span = 60 if kind == "tokens_minute" else 86_400
    ident = int(now // span)
    return ident, (ident + 1) * span - now


class Counters(Protocol):
    async def check(self, limits: list[Limit]) -> tuple[Limit, float] | None: ...

    def charge(self, limits: list[Limit], tokens: int) -> None: ...

    async def close(self) -> None: ...


class MemoryCounters:
    """Counters for one process. Safe without locks: the event loop runs one check at a time."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._windows: dict[tuple[str, int], int] = {}
        self._last_prune = 0

    async def check(self, limits: list[Limit]) -> tuple[Limit, float] | None:
        now = self._clock()
        refilled: list[tuple[Limit, float]] = []
        for limit in limits:
            if limit.kind == "requests":
                rate = limit.amount / 60.0
                tokens, stamp = self._buckets.get(limit.key, (float(limit.amount), now))
                tokens = min(float(limit.amount), tokens + (now - stamp) * rate)
                if tokens < 1.0:
                    return limit, (1.0 - tokens) / rate
                refilled.append((limit, tokens))
            else:
                ident, remaining = _window(limit.kind, now)
                if self._windows.get((limit.key, ident), 0) >= limit.amount:
                    return limit, remaining
        for limit, tokens in refilled:
            self._buckets[limit.key] = (tokens - 1.0, now)
        self._prune(now)
        return None

    def charge(self, limits: list[Limit], tokens: int) -> None:
        now = self._clock()
        for limit in limits:
            if limit.kind != "requests":
                slot = (limit.key, _window(limit.kind, now)[0])
                self._windows[slot] = self._windows.get(slot, 0) + tokens

    def _prune(self, now: float) -> None:
        minute = int(now // 60)
        if minute == self._last_prune:
            return
        self._last_prune = minute
        day = int(now // 86_400)
        self._windows = {
            slot: used for slot, used in self._windows.items() if slot[1] in (minute, day)
        }
        self._buckets = {key: value for key, value in self._buckets.items() if now - value[1] < 120}

    async def close(self) -> None:
        return None


# Checks every limit first and takes from the request buckets only when all pass, in one
# atomic step on the Redis server.
_CHECK_SCRIPT = """
local now = tonumber(ARGV[1])
local n = #KEYS
local taken = {}
for i = 1, n do
  local kind = ARGV[2 * i]
  local amount = tonumber(ARGV[2 * i + 1])
  if kind == 'requests' then
    local b = redis.call('HMGET', KEYS[i], 't', 'ts')
    local tokens = tonumber(b[1]) or amount
    local ts = tonumber(b[2]) or now
    tokens = math.min(amount, tokens + (now - ts) * amount / 60000)
    if tokens < 1 then
      return {i, math.ceil((1 - tokens) * 60000 / amount)}
    end
    taken[i] = tokens
  else
    local span = 86400000
    if kind == 'tokens_minute' then span = 60000 end
    local ident = math.floor(now / span)
    local used = tonumber(redis.call('GET', KEYS[i] .. ':' .. ident)) or 0
    if used >= amount then
      return {i, (ident + 1) * span - now}
    end
  end
end
for i, tokens in pairs(taken) do
  redis.call('HSET', KEYS[i], 't', tokens - 1, 'ts', now)
  redis.call('PEXPIRE', KEYS[i], 120000)
end
return {0, 0}
"""


class RedisCounters:
    """Counters shared by every replica through Redis. Charges are batched every 50 ms."""

    prefix = "tutela:rl:"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_CHECK_SCRIPT)
        self._pending: dict[str, tuple[int, int]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def check(self, limits: list[Limit]) -> tuple[Limit, float] | None:
        now_ms = int(time.time() * 1000)
        args: list[Any] = [now_ms]
        for limit in limits:
            args += [limit.kind, limit.amount]
        index, wait_ms = await self._script(
            keys=[self.prefix + limit.key for limit in limits], args=args
        )
        if int(index) == 0:
            return None
        return limits[int(index) - 1], max(0.001, int(wait_ms) / 1000.0)

    def charge(self, limits: list[Limit], tokens: int) -> None:
        now = time.time()
        for limit in limits:
            if limit.kind == "requests":
                continue
            ident, _ = _window(limit.kind, now)
            slot = f"{self.prefix}{limit.key}:{ident}"
            ttl = 120 if limit.kind == "tokens_minute" else 2 * 86_400
            used, _ttl = self._pending.get(slot, (0, ttl))
            self._pending[slot] = (used + tokens, ttl)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0.05)
        await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for slot, (tokens, ttl) in pending.items():
                    pipe.incrby(slot, tokens)
                    pipe.expire(slot, ttl)
                await pipe.execute()
        except Exception as exc:
            # Keep the charge so it is retried with the next flush rather than lost.
            log.error("redis charge failed; will retry", extra={"error": type(exc).__name__})
            for slot, (tokens, ttl) in pending.items():
                used, _ = self._pending.get(slot, (0, ttl))
                self._pending[slot] = (used + tokens, ttl)

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        with contextlib.suppress(Exception):
            await self.flush()
        await self._redis.aclose()


def make_counters(backend: str, redis_url: str | None) -> Counters:
    if backend == "redis":
        if not redis_url:
            from tutela.errors import ConfigError

            raise ConfigError(
                "guards.rate_limits.backend is redis but no Redis URL is set "
                "(set the environment variable named by redis_url_env)"
            )
        return RedisCounters(redis_url)
    return MemoryCounters()


__all__ = ["Counters", "Limit", "MemoryCounters", "RedisCounters", "make_counters"]

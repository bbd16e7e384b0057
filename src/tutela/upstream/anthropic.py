"""The Anthropic upstream: the real API or any server that speaks its wire format.

Built on aiohttp's client, chosen by measurement (about 8x faster than httpx as a proxy
client on this class of machine). Timeouts are on by default. Retries with exponential
backoff and jitter (honouring ``retry-after``) happen only before any byte reached the
client. A circuit breaker stops hammering an upstream that keeps failing. Cancelling the
caller aborts the upstream connection, so the upstream stops generating.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import AsyncIterator

import aiohttp

from tutela.errors import ErrorKind, UpstreamError
from tutela.policy import UpstreamSettings
from tutela.upstream.base import UpstreamCall, UpstreamResponse, relayed_headers
from tutela.upstream.circuit import CircuitBreaker

log = logging.getLogger("tutela.upstream")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class AnthropicUpstream:
    def __init__(self, name: str, settings: UpstreamSettings) -> None:
        self.name = name
        self.region = settings.region
        self.settings = settings
        self.base_url = settings.base_url
        self.breaker = CircuitBreaker(
            settings.circuit_breaker.failure_threshold, settings.circuit_breaker.reset_after
        )
        self._session: aiohttp.ClientSession | None = None

    def _api_key(self) -> str:
        return os.environ.get(self.settings.api_key_env, "")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeouts = self.settings.timeouts
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.max_connections, ttl_dns_cache=300, keepalive_timeout=30
                ),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeouts.connect,
                    sock_connect=timeouts.connect,
                    sock_read=timeouts.idle,
                ),
                auto_decompress=False,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _backoff(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when waiting is not worth it."""
        retries = self.settings.retries
        if retry_after is not None:
            return retry_after if retry_after <= retries.backoff_max else None
        base = min(retries.backoff_max, retries.backoff_initial * (2 ** (attempt - 1)))
        return random.uniform(base / 2, base)  # noqa: S311 - jitter, not a secret

    async def send(self, call: UpstreamCall) -> UpstreamResponse:
        headers = dict(call.headers)
        api_key = self._api_key()
        if api_key:
            headers["x-api-key"] = api_key
        headers["accept-encoding"] = "identity"
        url = self.base_url + call.path
        retries = self.settings.retries
        first_byte = self.settings.timeouts.first_byte
        attempt = 0
        while True:
            attempt += 1
            if not self.breaker.allow():
                wait = self.breaker.retry_after()
                raise UpstreamError(
                    ErrorKind.OVERLOADED,
                    f"upstream {self.name!r} is failing and paused for {wait:.0f}s "
                    "(circuit open); retry later",
                    retry_after=max(1.0, wait),
                )
            try:
                async with asyncio.timeout(first_byte):
                    response = await self._client().request(
                        call.method, url, data=call.body or None, headers=headers
                    )
            except TimeoutError:
                self.breaker.failure()
                raise UpstreamError(
                    ErrorKind.UPSTREAM_TIMEOUT,
                    f"upstream {self.name!r} did not answer within {first_byte:g}s",
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                self.breaker.failure()
                if attempt < retries.max_attempts:
                    delay = self._backoff(attempt, None)
                    log.warning(
                        "upstream connection failed; retrying",
                        extra={
                            "upstream": self.name,
                            "error": type(exc).__name__,
                            "attempt": attempt,
                        },
                    )
                    await asyncio.sleep(delay or 0)
                    continue
                raise UpstreamError(
                    ErrorKind.BAD_GATEWAY,
                    f"upstream {self.name!r} connection failed ({type(exc).__name__})",
                ) from None

            status = response.status
            if status >= 500 or status == 529:
                self.breaker.failure()
            else:
                self.breaker.success()
            if status in retries.retry_on and attempt < retries.max_attempts:
                retry_after = _retry_after(response.headers.get("retry-after"))
                delay = self._backoff(attempt, retry_after)
                if delay is not None:
                    response.release()
                    log.warning(
                        "upstream answered %s; retrying",
                        status,
                        extra={"upstream": self.name, "attempt": attempt},
                    )
                    await asyncio.sleep(delay)
                    continue
            relayed = relayed_headers(list(response.headers.items()))
            if call.stream and status == 200:
                return UpstreamResponse(
                    status=status,
                    headers=relayed,
                    chunks=self._chunks(response),
                    closer=self._closer(response),
                )
            try:
                async with asyncio.timeout(self.settings.timeouts.total):
                    body = await response.read()
            except TimeoutError:
                response.close()
                raise UpstreamError(
                    ErrorKind.UPSTREAM_TIMEOUT,
                    f"upstream {self.name!r} response did not complete in time",
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                response.close()
                raise UpstreamError(
                    ErrorKind.BAD_GATEWAY,
                    f"upstream {self.name!r} connection failed while reading ({type(exc).__name__})",
                ) from None
            finally:
                response.release()
            return UpstreamResponse(status=status, headers=relayed, body=body)

    @staticmethod
    async def _chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        async for chunk in response.content.iter_any():
            yield chunk

    @staticmethod
    def _closer(response: aiohttp.ClientResponse):  # type: ignore[no-untyped-def]
        async def close() -> None:
            # close(), not release(): an unfinished stream must drop the connection so the
            # upstream sees the cancellation and stops generating.
            if response.content.at_eof():
                response.release()
            else:
                response.close()

        return close

"""The Anthropic upstream: the real API or any server that speaks its wire format.

Timeouts are on by default. Retries with exponential backoff and jitter (honouring
``retry-after``) happen only before any byte reached the client. A circuit breaker stops
hammering an upstream that keeps failing. Cancelling the caller aborts the upstream
connection, so the upstream stops generating. The HTTP client is ``upstream/http1.py``,
chosen by measurement (see its docstring).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random

from tutela.errors import ErrorKind, UpstreamError
from tutela.policy import UpstreamSettings
from tutela.upstream.base import UpstreamCall, UpstreamResponse, relayed_headers
from tutela.upstream.circuit import CircuitBreaker
from tutela.upstream.http1 import Http1Pool, Http1Response, UpstreamConnectionError

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
        self._pool: Http1Pool | None = None

    def _api_key(self) -> str:
        return os.environ.get(self.settings.api_key_env, "")

    def _client(self) -> Http1Pool:
        if self._pool is None:
            self._pool = Http1Pool(
                self.base_url,
                max_connections=self.settings.max_connections,
                connect_timeout=self.settings.timeouts.connect,
            )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

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
        retries = self.settings.retries
        timeouts = self.settings.timeouts
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
                async with asyncio.timeout(timeouts.first_byte):
                    response = await self._client().request(
                        call.method, call.path, headers, call.body, idle_timeout=timeouts.idle
                    )
            except TimeoutError:
                self.breaker.failure()
                raise UpstreamError(
                    ErrorKind.UPSTREAM_TIMEOUT,
                    f"upstream {self.name!r} did not answer within {timeouts.first_byte:g}s",
                ) from None
            except UpstreamConnectionError as exc:
                self.breaker.failure()
                if attempt < retries.max_attempts:
                    log.warning(
                        "upstream connection failed; retrying",
                        extra={"upstream": self.name, "error": str(exc), "attempt": attempt},
                    )
                    await asyncio.sleep(self._backoff(attempt, None) or 0)
                    continue
                # The detail (host, port, cause) goes to the log, not to API clients.
                log.error(
                    "upstream connection failed",
                    extra={"upstream": self.name, "error": str(exc), "attempt": attempt},
                )
                raise UpstreamError(
                    ErrorKind.BAD_GATEWAY, f"upstream {self.name!r} connection failed"
                ) from None

            status = response.status
            if status >= 500:
                self.breaker.failure()
            else:
                self.breaker.success()
            if status in retries.retry_on and attempt < retries.max_attempts:
                delay = self._backoff(attempt, _retry_after(response.header("retry-after")))
                if delay is not None:
                    response.abort()
                    log.warning(
                        "upstream answered %s; retrying",
                        status,
                        extra={"upstream": self.name, "attempt": attempt},
                    )
                    await asyncio.sleep(delay)
                    continue
            relayed = relayed_headers(response.header_items())
            if call.stream and status == 200:
                return UpstreamResponse(
                    status=status,
                    headers=relayed,
                    chunks=self._chunks(response),
                    closer=self._closer(response),
                )
            try:
                async with asyncio.timeout(timeouts.total):
                    body = await response.read()
            except TimeoutError:
                response.abort()
                raise UpstreamError(
                    ErrorKind.UPSTREAM_TIMEOUT,
                    f"upstream {self.name!r} response did not complete in time",
                ) from None
            except UpstreamConnectionError as exc:
                response.abort()
                log.error(
                    "upstream connection failed while reading",
                    extra={"upstream": self.name, "error": str(exc)},
                )
                raise UpstreamError(
                    ErrorKind.BAD_GATEWAY, f"upstream {self.name!r} connection failed while reading"
                ) from None
            return UpstreamResponse(status=status, headers=relayed, body=body)

    @staticmethod
    async def _chunks(response: Http1Response):  # type: ignore[no-untyped-def]
        async for chunk in response.chunks():
            yield chunk

    @staticmethod
    def _closer(response: Http1Response):  # type: ignore[no-untyped-def]
        async def close() -> None:
            # Abort, not release, when unfinished: the upstream must see the cancellation
            # and stop generating.
            if response.complete:
                response.release()
            else:
                response.abort()

        return close

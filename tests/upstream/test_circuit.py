"""The circuit breaker, and the Anthropic upstream refusing fast while it is open."""

from __future__ import annotations

import pytest

from tutela.errors import UpstreamError
from tutela.policy import UpstreamSettings
from tutela.testing.standin import Fault, StandIn
from tutela.upstream.anthropic import AnthropicUpstream
from tutela.upstream.base import UpstreamCall
from tutela.upstream.circuit import CircuitBreaker


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_then_half_opens_for_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_after() == pytest.approx(10.0)
    clock.now = 10.0
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # exactly one trial
    breaker.failure()
    assert breaker.state == "open"
    clock.now = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(2, 1.0, clock=Clock())
    breaker.failure()
    breaker.success()
    breaker.failure()
    assert breaker.state == "closed"


CALL = UpstreamCall(
    method="POST",
    path="/v1/messages",
    headers={"content-type": "application/json"},
    body=b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}',
    stream=False,
)


async def test_open_circuit_refuses_without_calling_upstream() -> None:
    async with StandIn() as standin:
        settings = UpstreamSettings.model_validate(
            {
                "type": "anthropic",
                "base_url": standin.base_url,
                "retries": {"max_attempts": 1},
                "circuit_breaker": {"failure_threshold": 2, "reset_after": 60},
            }
        )
        upstream = AnthropicUpstream("test", settings)
        try:
            standin.faults.extend([Fault("status", status=500)] * 2)
            for _ in range(2):
                assert (await upstream.send(CALL)).status == 500
            with pytest.raises(UpstreamError) as info:
                await upstream.send(CALL)
            assert info.value.status == 529 and info.value.error_type == "overloaded_error"
            assert "circuit open" in info.value.message
            assert info.value.retry_after is not None and info.value.retry_after > 50
            assert len(standin.requests) == 2
        finally:
            await upstream.close()


async def test_429_does_not_open_the_circuit() -> None:
    async with StandIn() as standin:
        settings = UpstreamSettings.model_validate(
            {
                "type": "anthropic",
                "base_url": standin.base_url,
                "retries": {"max_attempts": 1},
                "circuit_breaker": {"failure_threshold": 1, "reset_after": 60},
            }
        )
        upstream = AnthropicUpstream("test", settings)
        try:
            standin.faults.append(Fault("status", status=429))
            assert (await upstream.send(CALL)).status == 429
            assert (await upstream.send(CALL)).status == 200
        finally:
            await upstream.close()

"""Request size and shape limits."""

from __future__ import annotations

from typing import Any

import pytest

from tutela.errors import ErrorKind
from tutela.guards.limits import LimitsGuard
from tutela.policy import LimitsSettings
from tutela.types import Exchange

GOOD: dict[str, Any] = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "hi"}],
}


async def check(body: Any, endpoint: str = "messages", **settings: Any):  # type: ignore[no-untyped-def]
    guard = LimitsGuard(LimitsSettings(**settings))
    ex = Exchange(
        request_id="r", endpoint=endpoint, method="POST", headers={}, raw_body=b"", body=body
    )
    return await guard.check_request(ex)


async def test_a_good_request_and_unknown_fields_pass() -> None:
    verdict = await check({**GOOD, "brand_new_field": {"x": 1}, "stream": True})
    assert not verdict.blocked


@pytest.mark.parametrize(
    ("change", "kind", "text"),
    [
        ({"model": None}, ErrorKind.INVALID_REQUEST, "model"),
        ({"messages": "hi"}, ErrorKind.INVALID_REQUEST, "messages"),
        ({"messages": ["hi"]}, ErrorKind.INVALID_REQUEST, "messages.0"),
        ({"messages": [{"role": "user", "content": 5}]}, ErrorKind.INVALID_REQUEST, "content"),
        (
            {"messages": [{"role": "user", "content": [1]}]},
            ErrorKind.INVALID_REQUEST,
            "every block",
        ),
        ({"max_tokens": "10"}, ErrorKind.INVALID_REQUEST, "max_tokens"),
        ({"max_tokens": True}, ErrorKind.INVALID_REQUEST, "max_tokens"),
        ({"max_tokens": 0}, ErrorKind.INVALID_REQUEST, "at least 1"),
        ({"max_tokens": 10**9}, ErrorKind.INVALID_REQUEST, "cap"),
        ({"system": 3}, ErrorKind.INVALID_REQUEST, "system"),
        ({"tools": {}}, ErrorKind.INVALID_REQUEST, "tools"),
        ({"stream": "yes"}, ErrorKind.INVALID_REQUEST, "stream"),
    ],
)
async def test_bad_shapes_are_refused_with_a_reason(
    change: dict[str, Any], kind: ErrorKind, text: str
) -> None:
    verdict = await check({**GOOD, **change})
    assert verdict.blocked and verdict.error is kind
    assert text in verdict.reason


async def test_counts_and_models_are_capped() -> None:
    many = {**GOOD, "messages": [{"role": "user", "content": "x"}] * 3}
    verdict = await check(many, max_messages=2)
    assert verdict.blocked and verdict.error is ErrorKind.REQUEST_TOO_LARGE
    verdict = await check({**GOOD, "tools": [{}] * 3}, max_tools=2)
    assert verdict.blocked and verdict.error is ErrorKind.REQUEST_TOO_LARGE
    verdict = await check(GOOD, allowed_models=("claude-haiku-*",))
    assert verdict.blocked and verdict.error is ErrorKind.POLICY_VIOLATION
    assert not (await check(GOOD, allowed_models=("claude-sonnet-*",))).blocked


async def test_count_tokens_needs_no_max_tokens() -> None:
    body = {k: v for k, v in GOOD.items() if k != "max_tokens"}
    assert not (await check(body, endpoint="count_tokens")).blocked
    assert (await check(body, endpoint="messages")).blocked

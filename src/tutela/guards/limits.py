"""Request size and shape limits.

Checks only what later guards and the upstream rely on (a JSON object with a model, a list
of messages, sane counts); it does not validate against one API version, so new request
fields pass through untouched. The body-size cap itself is enforced while reading the body,
before any guard runs.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import orjson

from tutela.errors import ErrorKind
from tutela.guard import OnError
from tutela.policy import LimitsSettings
from tutela.types import ALLOW, Exchange, Finding, Verdict


def _invalid(reason: str) -> Verdict:
    return Verdict.block(reason, Finding(cls="limits.shape"), error=ErrorKind.INVALID_REQUEST)


class LimitsGuard:
    name = "limits"
    waits = False

    def __init__(self, settings: LimitsSettings) -> None:
        self.settings = settings
        self.on_error: OnError = settings.on_error

    async def check_request(self, exchange: Exchange) -> Verdict:
        body = exchange.body
        if body is None:
            return ALLOW
        if exchange.endpoint in ("messages", "count_tokens"):
            personal = exchange.principal.allowed_models if exchange.principal else ()
            model = body.get("model")
            if personal and not (
                isinstance(model, str) and any(fnmatchcase(model, p) for p in personal)
            ):
                return Verdict.block(
                    f"model {model!r} is not allowed for your identity-provider groups",
                    Finding(cls="limits.model"),
                    error=ErrorKind.POLICY_VIOLATION,
                )
            return self._check_messages(body, tokens_required=exchange.endpoint == "messages")
        return ALLOW

    def _check_messages(self, body: dict[str, Any], *, tokens_required: bool) -> Verdict:
        settings = self.settings
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _invalid("model: field required (a non-empty string)")
        if settings.allowed_models and not any(
            fnmatchcase(model, pattern) for pattern in settings.allowed_models
        ):
            return Verdict.block(
                f"model {model!r} is not allowed by policy",
                Finding(cls="limits.model"),
                error=ErrorKind.POLICY_VIOLATION,
            )
        messages = body.get("messages")
        if not isinstance(messages, list):
            return _invalid("messages: field required (a list)")
        if len(messages) > settings.max_messages:
            return Verdict.block(
                f"messages: {len(messages)} messages exceed the limit of {settings.max_messages}",
                Finding(cls="limits.messages"),
                error=ErrorKind.REQUEST_TOO_LARGE,
            )
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                return _invalid(f"messages.{index}: must be an object")
            content = message.get("content")
            if not isinstance(content, str | list):
                return _invalid(f"messages.{index}.content: must be a string or a list of blocks")
            if isinstance(content, list) and not all(isinstance(b, dict) for b in content):
                return _invalid(f"messages.{index}.content: every block must be an object")
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            return _invalid("system: must be a string or a list of blocks")
        tools = body.get("tools")
        if tools is not None:
            if not isinstance(tools, list):
                return _invalid("tools: must be a list")
            if len(tools) > settings.max_tools:
                return Verdict.block(
                    f"tools: {len(tools)} tools exceed the limit of {settings.max_tools}",
                    Finding(cls="limits.tools"),
                    error=ErrorKind.REQUEST_TOO_LARGE,
                )
        if tokens_required:
            max_tokens = body.get("max_tokens")
            if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
                return _invalid("max_tokens: field required (an integer)")
            if max_tokens < 1:
                return _invalid("max_tokens: must be at least 1")
            if max_tokens > settings.max_tokens_cap:
                return Verdict.block(
                    f"max_tokens: {max_tokens} exceeds this workspace's cap of "
                    f"{settings.max_tokens_cap}",
                    Finding(cls="limits.max_tokens"),
                    error=ErrorKind.INVALID_REQUEST,
                )
            stream = body.get("stream")
            if stream is not None and not isinstance(stream, bool):
                return _invalid("stream: must be a boolean")
        return ALLOW


def model_visible(model: str, policy_models: tuple[str, ...], personal: tuple[str, ...]) -> bool:
    """A model is usable (and listed) when the policy's and the caller's allow-lists,
    where set, both admit it."""
    return (not policy_models or any(fnmatchcase(model, p) for p in policy_models)) and (
        not personal or any(fnmatchcase(model, p) for p in personal)
    )


def filter_models(
    body: bytes, endpoint: str, policy_models: tuple[str, ...], personal: tuple[str, ...]
) -> bytes | None:
    """``GET /v1/models`` answers with only the models the caller may use; for
    ``/v1/models/{id}`` returns None (answer 404) when that model is not allowed."""
    if not (policy_models or personal):
        return body
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    if not isinstance(answer, dict):
        return body
    if endpoint == "model":
        model = answer.get("id")
        ok = isinstance(model, str) and model_visible(model, policy_models, personal)
        return body if ok else None
    data = answer.get("data")
    if not isinstance(data, list):
        return body
    kept = [
        m
        for m in data
        if isinstance(m, dict)
        and isinstance(m.get("id"), str)
        and model_visible(m["id"], policy_models, personal)
    ]
    answer["data"] = kept
    answer["first_id"] = kept[0]["id"] if kept else None
    answer["last_id"] = kept[-1]["id"] if kept else None
    return orjson.dumps(answer)

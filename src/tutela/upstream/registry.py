"""Builds the upstreams a policy names, and adapts the offline model to the Upstream seam."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import orjson

from tutela.errors import ErrorKind, UpstreamError
from tutela.policy import Policy
from tutela.randomness import random_hex
from tutela.upstream import offline
from tutela.upstream.anthropic import AnthropicUpstream
from tutela.upstream.base import Upstream, UpstreamCall, UpstreamResponse

_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8")]


def _error(status: int, error_type: str, message: str) -> UpstreamResponse:
    body = orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})
    return UpstreamResponse(status=status, headers=list(_JSON), body=body)


class OfflineUpstream:
    """The built-in deterministic model behind the same seam as a real upstream."""

    def __init__(self, name: str = "offline", region: str = "") -> None:
        self.name = name
        self.region = region

    async def close(self) -> None:
        return None

    async def send(self, call: UpstreamCall) -> UpstreamResponse:
        parts = urlsplit(call.path)
        path = parts.path
        if call.method == "GET" and path == "/v1/models":
            query = parse_qs(parts.query)
            limit = int(query.get("limit", ["20"])[0])
            page = offline.list_models(
                query.get("after_id", [None])[0], query.get("before_id", [None])[0], limit
            )
            return UpstreamResponse(status=200, headers=list(_JSON), body=orjson.dumps(page))
        if call.method == "GET" and path.startswith("/v1/models/"):
            model = offline.get_model(path.removeprefix("/v1/models/"))
            if model is None:
                return _error(404, "not_found_error", "model not found")
            return UpstreamResponse(status=200, headers=list(_JSON), body=orjson.dumps(model))
        body = call.parsed if call.parsed is not None else orjson.loads(call.body)
        if path == "/v1/messages/count_tokens":
            payload = {"input_tokens": offline.count_tokens(body)}
            return UpstreamResponse(status=200, headers=list(_JSON), body=orjson.dumps(payload))
        if path != "/v1/messages":
            return _error(404, "not_found_error", f"offline model has no {path}")
        message_id = "msg_offline_" + random_hex(12)
        try:
            if call.stream:
                events = offline.stream_message(body, message_id)
                return UpstreamResponse(status=200, headers=list(_SSE), chunks=_aiter(events))
            message = offline.create_message(body, message_id)
        except offline.OfflineFault as fault:
            return _error(fault.status, fault.error_type, fault.message)
        return UpstreamResponse(status=200, headers=list(_JSON), body=orjson.dumps(message))


async def _aiter(events: object) -> AsyncIterator[bytes]:
    try:
        for event in events:  # type: ignore[attr-defined]
            yield event
    except offline.OfflineFault as fault:
        raise UpstreamError(ErrorKind.OVERLOADED, fault.message) from None


def build_upstreams(policy: Policy) -> dict[str, Upstream]:
    upstreams: dict[str, Upstream] = {}
    for name, settings in policy.upstreams.items():
        if settings.type == "offline":
            upstreams[name] = OfflineUpstream(name, settings.region)
        else:
            upstreams[name] = AnthropicUpstream(name, settings)
    return upstreams

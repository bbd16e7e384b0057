"""The admin port's small HTTP vocabulary: a parsed ``Request`` and a ``Response``.

Bodies are capped (64 KiB) and JSON or form-encoded; errors are JSON
``{"error": {"type", "message"}}`` and never echo a credential.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

import orjson

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY = 64 * 1024


class HttpError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass(slots=True, kw_only=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes
    client_ip: str

    def json(self) -> dict[str, Any]:
        if not self.body:
            return {}
        try:
            data = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise HttpError(400, "invalid_request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise HttpError(400, "invalid_request", "the body must be a JSON object")
        return data

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass(slots=True, kw_only=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, payload: object, status: int = 200) -> Response:
        return cls(status=status, body=orjson.dumps(payload))

    @classmethod
    def error(cls, status: int, kind: str, message: str) -> Response:
        return cls.json({"error": {"type": kind, "message": message}}, status)

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(status=302, content_type="text/plain", headers=[("location", location)])

    async def send(self, send: Send) -> None:
        headers = [
            (b"content-type", self.content_type.encode()),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


async def read_request(scope: Scope, receive: Receive) -> Request:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        headers[raw_name.decode("latin-1").lower()] = raw_value.decode("latin-1")
    cookies: dict[str, str] = {}
    if "cookie" in headers:
        jar: SimpleCookie = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(headers["cookie"])
        cookies = {name: morsel.value for name, morsel in jar.items()}
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise HttpError(
                413, "request_too_large", f"admin request bodies are capped at {MAX_BODY} bytes"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
    client = scope.get("client") or ("", 0)
    return Request(
        method=scope["method"],
        path=scope["path"],
        query=query,
        headers=headers,
        cookies=cookies,
        body=b"".join(chunks),
        client_ip=str(client[0]),
    )

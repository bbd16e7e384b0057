"""Errors tutela raises and how every refusal is rendered in Anthropic's wire shape.

The tree::

    TutelaError                      base of everything tutela raises on purpose
    ├── ConfigError                  the policy file or a setting is wrong (names file/line/key)
    ├── StoreError                   the database refused or is unreachable
    └── GatewayError                 a refusal that goes back to an API client
        └── UpstreamError            the upstream failed (timeout, reset, 5xx, open circuit)

Every ``GatewayError`` renders as ``{"type":"error","error":{"type","message"},
"request_id"}`` with Anthropic's status code for its type, so the official SDKs raise
their usual exceptions. Messages never contain keys or prompt text.
"""

from __future__ import annotations

import enum
from typing import Any

import orjson


class ErrorKind(enum.Enum):
    """An Anthropic error type and the HTTP status it travels with."""

    INVALID_REQUEST = ("invalid_request_error", 400)
    AUTHENTICATION = ("authentication_error", 401)
    PERMISSION = ("permission_error", 403)
    POLICY_VIOLATION = ("permission_error", 403)
    NOT_FOUND = ("not_found_error", 404)
    REQUEST_TOO_LARGE = ("request_too_large", 413)
    RATE_LIMIT = ("rate_limit_error", 429)
    API_ERROR = ("api_error", 500)
    GUARD_FAILURE = ("api_error", 500)
    BAD_GATEWAY = ("api_error", 502)
    UPSTREAM_TIMEOUT = ("timeout_error", 504)
    OVERLOADED = ("overloaded_error", 529)

    @property
    def type(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]


class TutelaError(Exception):
    """Base of every error tutela raises on purpose."""


class ConfigError(TutelaError):
    """The policy file or a setting is invalid. The message names file, line and key."""


class StoreError(TutelaError):
    """The database refused an operation or cannot be reached."""


class GatewayError(TutelaError):
    """A refusal that is sent back to the API client in Anthropic's shape."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status or kind.status
        self.error_type = kind.type


class UpstreamError(GatewayError):
    """The upstream failed; ``status`` and ``error_type`` mirror what the client gets."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        error_type: str | None = None,
        passthrough: bytes | None = None,
    ) -> None:
        super().__init__(kind, message, retry_after=retry_after, status=status)
        if error_type:
            self.error_type = error_type
        # The upstream's own error body, relayed unchanged when it is Anthropic-shaped.
        self.passthrough = passthrough


def error_body(error_type: str, message: str, request_id: str) -> bytes:
    """Anthropic's error envelope as bytes."""
    payload: dict[str, Any] = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    return orjson.dumps(payload)


def error_event(error_type: str, message: str, request_id: str) -> bytes:
    """The same error as a mid-stream SSE ``error`` event."""
    return b"event: error\ndata: " + error_body(error_type, message, request_id) + b"\n\n"

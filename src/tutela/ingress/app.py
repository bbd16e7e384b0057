"""The gateway's ASGI app: Anthropic's Messages API, guarded, relayed, metered, audited.

A request goes: route -> authenticate -> read body (size-capped) -> parse -> permission ->
request guards -> upstream -> (stream: SSE relay through response guards, event by event |
JSON: response guards on the whole message) -> finish (guards settle, usage, audit, log).
Refusals at any step are Anthropic-shaped errors carrying the request id as audit id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import orjson

from tutela.errors import ErrorKind, GatewayError, UpstreamError, error_body, error_event
from tutela.guards.limits import filter_models
from tutela.identity.device_flow import PATHS as DEVICE_FLOW_PATHS
from tutela.identity.roles import MESSAGES_CREATE, MODELS_READ
from tutela.ingress.sse import SseSplitter
from tutela.types import Exchange, Verdict, new_request_id
from tutela.upstream.base import UpstreamCall, UpstreamResponse

if TYPE_CHECKING:
    from tutela.gateway import Gateway

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("tutela.access")

_ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/v1/messages"): ("messages", MESSAGES_CREATE),
    ("POST", "/v1/messages/count_tokens"): ("count_tokens", MESSAGES_CREATE),
    ("GET", "/v1/models"): ("models", MODELS_READ),
}
_PATHS = {path for _, path in _ROUTES}
# Request headers forwarded upstream: Anthropic's own (version, beta, ...) and little else.
# Client credentials are never forwarded.
_FORWARD = frozenset({b"content-type", b"accept", b"user-agent"})
_NEVER_FORWARD = frozenset({b"anthropic-api-key"})
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _verdict_error(verdict: Verdict) -> GatewayError:
    kind = verdict.error or ErrorKind.POLICY_VIOLATION
    return GatewayError(kind, verdict.reason, retry_after=verdict.retry_after)


class GatewayApp:
    """ASGI entry point for the gateway port. Serves only the Messages API surface."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        route = _ROUTES.get((method, path))
        model_id = ""
        if route is None and method == "GET" and path.startswith("/v1/models/"):
            route, model_id = ("model", MODELS_READ), path.removeprefix("/v1/models/")
        if route is None and path in DEVICE_FLOW_PATHS:  # Claude Code sign-in (it audits)
            await self.gateway.device_flow(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        client = scope.get("client")
        exchange = Exchange(
            request_id=new_request_id(),
            endpoint=route[0] if route else "unknown",
            method=method,
            headers=headers,
            raw_body=b"",
            client_ip=client[0] if client else "",
        )
        if route is None:
            allowed = path in _PATHS
            await self._refuse(
                send,
                exchange,
                GatewayError(
                    ErrorKind.INVALID_REQUEST if allowed else ErrorKind.NOT_FOUND,
                    f"method {method} not allowed on {path}"
                    if allowed
                    else f"no route for {method} {path}",
                    status=405 if allowed else None,
                ),
            )
            self.gateway.finish(exchange)  # probes of unknown paths are audited too
            return
        state = _Relay()
        active = self.gateway.metrics.active
        active.inc()
        watcher = asyncio.get_running_loop().create_task(self._watch_disconnect(receive, state))
        try:
            await self._handle(scope, receive, send, exchange, state, route[1], model_id)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not state.disconnected or task is None:
                raise
            task.uncancel()
            exchange.outcome = "client_disconnected"
            exchange.status = exchange.status or 499
        finally:
            watcher.cancel()
            active.dec()
            self.gateway.finish(exchange)

    async def _watch_disconnect(self, receive: Receive, state: _Relay) -> None:
        """Cancel the handler when the client goes away, so the upstream call is dropped."""
        await state.body_read.wait()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                state.disconnected = True
                if state.handler is not None and not state.done:
                    state.handler.cancel()
                return

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: Exchange,
        state: _Relay,
        permission: str,
        model_id: str,
    ) -> None:
        gateway = self.gateway
        state.handler = asyncio.current_task()
        try:
            principal = await gateway.authenticate(exchange.headers)
            exchange.principal = principal
            if gateway.content is not None and gateway.logs_content(principal):
                exchange.scratch["log_content"] = True
                exchange.scratch["content_response"] = []
            if method_has_body := exchange.method == "POST":
                exchange.raw_body = await self._read_body(receive, exchange.headers)
            state.body_read.set()
            if not gateway.roles.permits(principal.role, permission):
                raise GatewayError(
                    ErrorKind.PERMISSION,
                    f"role {principal.role!r} may not use {exchange.endpoint} "
                    f"(needs permission {permission!r})",
                )
            if method_has_body:
                exchange.body = self._parse(exchange.raw_body)
            verdict = await gateway.pipeline.check_request(exchange)
            if verdict is not None:
                exchange.outcome = "blocked"
                raise _verdict_error(verdict)
            upstream = gateway.upstream_for(principal)
            call = UpstreamCall(
                method=exchange.method,
                path=self._upstream_path(scope, exchange.endpoint, model_id),
                headers=self._forward_headers(scope),
                body=(
                    orjson.dumps(exchange.body)
                    if exchange.scratch.get("body_changed")
                    else exchange.raw_body
                ),
                stream=exchange.stream and exchange.endpoint == "messages",
                parsed=exchange.body,
            )
            exchange.scratch["upstream"] = upstream.name
            exchange.scratch["upstream_started_ns"] = time.perf_counter_ns()
            response = await upstream.send(call)
            exchange.upstream_status = response.status
            if response.chunks is not None:
                await self._relay_stream(send, exchange, state, response)
            else:
                await self._relay_body(send, exchange, state, response)
        except _ClientGone:
            exchange.outcome = "client_disconnected"
            exchange.status = 499
        except GatewayError as exc:
            if exchange.outcome == "pending":
                exchange.outcome = "upstream_error" if isinstance(exc, UpstreamError) else "refused"
            if state.started:
                # Headers are gone already: the only honest signal left is an error event.
                exchange.error_type = exc.error_type
                await self._settle_quietly(exchange)
                await send(
                    {
                        "type": "http.response.body",
                        "body": error_event(exc.error_type, exc.message, exchange.request_id),
                        "more_body": False,
                    }
                )
            else:
                await self._refuse(send, exchange, exc)
        finally:
            state.done = True
            state.body_read.set()

    @staticmethod
    def _upstream_path(scope: Scope, endpoint: str, model_id: str) -> str:
        path = {
            "messages": "/v1/messages",
            "count_tokens": "/v1/messages/count_tokens",
            "models": "/v1/models",
            "model": "/v1/models/" + model_id,
        }[endpoint]
        query: bytes = scope.get("query_string", b"")
        return path + "?" + query.decode("latin-1") if query else path

    @staticmethod
    def _forward_headers(scope: Scope) -> dict[str, str]:
        forwarded: dict[str, str] = {}
        for name, value in scope["headers"]:
            if (name.startswith(b"anthropic-") and name not in _NEVER_FORWARD) or name in _FORWARD:
                forwarded[name.decode("latin-1")] = value.decode("latin-1")
        return forwarded

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        cap = self.gateway.policy.guards.limits.max_body_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise GatewayError(
                ErrorKind.REQUEST_TOO_LARGE,
                f"request body of {int(declared)} bytes exceeds the limit of {cap} bytes",
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > cap:
                    raise GatewayError(
                        ErrorKind.REQUEST_TOO_LARGE,
                        f"request body exceeds the limit of {cap} bytes",
                    )
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any]:
        if not raw:
            raise GatewayError(
                ErrorKind.INVALID_REQUEST, "request body is empty; expected a JSON object"
            )
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise GatewayError(
                ErrorKind.INVALID_REQUEST, f"request body is not valid JSON (at byte {exc.pos})"
            ) from None
        if not isinstance(body, dict):
            raise GatewayError(ErrorKind.INVALID_REQUEST, "request body must be a JSON object")
        return body

    async def _refuse(self, send: Send, exchange: Exchange, exc: GatewayError) -> None:
        exchange.status = exc.status
        exchange.error_type = exc.error_type
        if exchange.outcome == "pending":
            exchange.outcome = "refused"
        passthrough = exc.passthrough if isinstance(exc, UpstreamError) else None
        body = passthrough or error_body(
            exc.error_type, f"{exc.message} (audit id {exchange.request_id})", exchange.request_id
        )
        headers = [
            *_JSON_HEADERS,
            (b"request-id", exchange.request_id.encode()),
            (b"x-tutela-request-id", exchange.request_id.encode()),
        ]
        if exc.retry_after is not None:
            headers.append((b"retry-after", str(max(1, round(exc.retry_after))).encode()))
        if exc.status in (400, 401, 403, 404, 413):
            headers.append((b"x-should-retry", b"false"))
        headers.append((b"content-length", str(len(body)).encode()))
        await self._settle_quietly(exchange)
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _settle_quietly(self, exchange: Exchange) -> None:
        """Settle before an error goes out. An error releases no model output, so it is
        sent even when the audit trail is slow (the event stays queued)."""
        with contextlib.suppress(GatewayError):
            await self.gateway.settle(exchange)

    def _response_headers(
        self, exchange: Exchange, response: UpstreamResponse
    ) -> list[tuple[bytes, bytes]]:
        headers = [*response.headers, (b"x-tutela-request-id", exchange.request_id.encode())]
        annotation = exchange.injection.header() if exchange.injection is not None else ""
        if annotation:  # flagged or annotated, not blocked: tell the client (ids, no text)
            headers.append((b"x-tutela-injection", annotation.encode()))
        return headers

    async def _relay_body(
        self, send: Send, exchange: Exchange, state: _Relay, response: UpstreamResponse
    ) -> None:
        body = response.body
        status = response.status
        exchange.status = status
        if status == 200 and exchange.endpoint == "messages":
            try:
                message = orjson.loads(body)
            except orjson.JSONDecodeError:
                message = None
            if not isinstance(message, dict):
                raise UpstreamError(ErrorKind.BAD_GATEWAY, "upstream returned a malformed message")
            exchange.usage.merge(message.get("usage"))
            verdict, changed = self.gateway.pipeline.check_message(exchange, message)
            if verdict is not None:
                exchange.outcome = "blocked"
                raise _verdict_error(verdict)
            if changed is not message:
                body = orjson.dumps(changed)
            exchange.outcome = "ok"
        elif status == 200 and exchange.endpoint in ("models", "model"):
            principal = exchange.principal
            filtered = filter_models(
                body,
                exchange.endpoint,
                self.gateway.policy.guards.limits.allowed_models,
                principal.allowed_models if principal else (),
            )
            if filtered is None:  # a model the caller may not use is one that does not exist
                raise GatewayError(ErrorKind.NOT_FOUND, "model not found")
            body = filtered
            exchange.outcome = "ok"
        elif status == 200:
            exchange.outcome = "ok"
        else:
            exchange.outcome = "upstream_error"
            exchange.error_type = _error_type(body)
        if "content_response" in exchange.scratch:
            exchange.scratch["content_response"].append(body)
        await self.gateway.settle(exchange)  # durable before released
        state.started = True
        headers = self._response_headers(exchange, response)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _relay_stream(
        self, send: Send, exchange: Exchange, state: _Relay, response: UpstreamResponse
    ) -> None:
        pipeline = self.gateway.pipeline
        usage = exchange.usage
        splitter = SseSplitter()
        content: list[bytes] | None = exchange.scratch.get("content_response")
        exchange.status = 200
        assert response.chunks is not None
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": self._response_headers(exchange, response),
                }
            )
            state.started = True
            async for chunk in response.chunks:
                out: list[bytes] = []
                stopping = False
                for event in splitter.feed(chunk):
                    data = event.data
                    if data is not None:
                        name = event.event
                        if name == "message_stop":
                            stopping = True
                        elif name == "message_start":
                            message = data.get("message")
                            if isinstance(message, dict):
                                usage.merge(message.get("usage"))
                        elif name == "message_delta":
                            usage.merge(data.get("usage"))
                        elif name == "error":
                            exchange.outcome = "upstream_error"
                            error = data.get("error")
                            exchange.error_type = (
                                str(error.get("type", ""))
                                if isinstance(error, dict)
                                else "api_error"
                            )
                    verdict, raw = pipeline.check_event(exchange, event)
                    if verdict is not None:
                        exchange.outcome = "blocked"
                        out.append(
                            error_event(
                                (verdict.error or ErrorKind.POLICY_VIOLATION).type,
                                f"{verdict.reason} (audit id {exchange.request_id})",
                                exchange.request_id,
                            )
                        )
                        exchange.error_type = (verdict.error or ErrorKind.POLICY_VIOLATION).type
                        await self._settle_quietly(exchange)
                        await send(
                            {
                                "type": "http.response.body",
                                "body": b"".join(out),
                                "more_body": False,
                            }
                        )
                        return
                    out.append(raw)
                if out and content is not None:
                    content.extend(out)
                if stopping:  # the client learns the message is complete: durable first
                    if exchange.outcome == "pending":
                        exchange.outcome = "ok"
                    await self.gateway.settle(exchange)
                if out:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": b"".join(out) if len(out) > 1 else out[0],
                            "more_body": True,
                        }
                    )
            if splitter.pending.strip():
                raise UpstreamError(ErrorKind.BAD_GATEWAY, "upstream stream ended inside an event")
            if exchange.outcome == "pending":
                exchange.outcome = "ok"
            await self.gateway.settle(exchange)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except (OSError, TimeoutError) as exc:  # includes UpstreamConnectionError
            exchange.outcome = "upstream_error"
            timed_out = isinstance(exc, TimeoutError)
            raise UpstreamError(
                ErrorKind.UPSTREAM_TIMEOUT if timed_out else ErrorKind.API_ERROR,
                "upstream stream stalled"
                if timed_out
                else f"upstream connection lost mid-stream ({type(exc).__name__})",
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()


def _error_type(body: bytes) -> str:
    try:
        parsed = orjson.loads(body)
        return str(parsed["error"]["type"])
    except Exception:
        return "api_error"


class _ClientGone(Exception):
    """The client hung up before its request body arrived."""


class _Relay:
    """Per-request flags shared between the handler and its disconnect watcher."""

    __slots__ = ("body_read", "disconnected", "done", "handler", "started")

    def __init__(self) -> None:
        self.body_read = asyncio.Event()
        self.disconnected = False
        self.done = False
        self.started = False
        self.handler: asyncio.Task[Any] | None = None

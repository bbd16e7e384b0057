"""Stand-in Anthropic upstream: a real HTTP server speaking the Messages API wire format.

It owns serving ``/v1/messages`` (JSON and SSE), ``/v1/messages/count_tokens`` and
``/v1/models`` with bodies from the offline model, recording what it received, and
injecting faults (error statuses, delays, connection resets, mid-stream errors, slow
streams) so tests and benchmarks can exercise a gateway against a realistic upstream.

It must never be used as a production upstream, never reach the network beyond the
socket it listens on, and never check credentials (it records them for assertions).

Use it as ``async with StandIn() as s:`` inside a test's event loop, as
``with StandInThread() as s:`` when another thread or process talks to it, or run
``python -m tutela.testing.standin --port 9100`` for benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import struct
import sys
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from tutela.upstream import offline

__all__ = ["FAULT_KINDS", "Fault", "ReceivedRequest", "StandIn", "StandInThread", "main"]

FAULT_KINDS = frozenset(
    {"status", "delay", "reset_before", "reset_during", "error_event", "slow_stream"}
)

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES: dict[str, str] = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}
_MAX_BODY = 64 * 1024 * 1024
_MAX_CACHED_BODY = 256 * 1024
_JSON = "application/json"
_SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
}
_ID_PREFIX = b'{"id":"'


def error_type_for(status: int) -> str:
    """Anthropic's ``error.type`` for an HTTP status."""
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected failure, consumed by the next request the stand-in receives.

    ``status``: answer ``status`` with Anthropic's error body (``retry_after`` adds the
    header). ``delay``: sleep ``delay`` seconds, then answer normally. ``reset_before``:
    abort the connection (TCP RST) without any response. ``reset_during``: send headers
    and ``after_events`` SSE events (half the body for JSON), then abort.
    ``error_event``: send ``after_events`` events, then an ``overloaded_error`` SSE
    ``error`` event and end the stream (a JSON request gets HTTP 529 instead).
    ``slow_stream``: sleep ``delay`` seconds between events (before a JSON answer).
    """

    kind: str
    status: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    after_events: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}"
            )
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"a status fault needs a 4xx/5xx status, got {self.status}")
        if self.delay < 0 or self.after_events < 0:
            raise ValueError("delay and after_events must not be negative")


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    """What the stand-in saw: headers are lowercase-keyed, the body is the raw bytes."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class StandIn:
    """An Anthropic-compatible HTTP server on 127.0.0.1, driven from an asyncio loop."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        record: bool = True,
        cache_size: int = 256,
        coalesce_streams: bool = False,
        shutdown_timeout: float = 0.5,
    ) -> None:
        self.host = host
        self.port = port
        self.record = record
        self.faults: deque[Fault] = deque()
        self.requests: list[ReceivedRequest] = []
        self.cancelled_streams = 0
        self.active_streams = 0
        self.completed_streams = 0
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()
        self._cache_size = cache_size
        self._coalesce = coalesce_streams
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.ServerRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget recorded requests, pending faults and counters."""
        self.faults.clear()
        self.requests.clear()
        self.cancelled_streams = self.active_streams = self.completed_streams = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("stand-in already started")
        self._loop = asyncio.get_running_loop()
        server = web.Server(
            self._handle,
            request_factory=self._make_request,
            handler_cancellation=True,
            access_log=None,
        )
        runner = web.ServerRunner(server, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        assert self._loop is not None
        return web.BaseRequest(
            message, payload, protocol, writer, task, self._loop, client_max_size=_MAX_BODY
        )

    # ------------------------------------------------------------------ dispatch

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        if self.record:
            self.requests.append(
                ReceivedRequest(
                    method=request.method,
                    path=path,
                    query=dict(request.query),
                    headers={k.lower(): v for k, v in request.headers.items()},
                    body=body,
                )
            )
        fault = self.faults.popleft() if self.faults else None
        request_id = "req_" + os.urandom(12).hex()
        if fault is not None:
            kind = fault.kind
            if kind == "status":
                return _error(fault.status, request_id, retry_after=fault.retry_after)
            if kind == "reset_before":
                _abort(request)
                return await _after_abort()
            if kind == "delay":
                await asyncio.sleep(fault.delay)

        method = request.method
        if path == "/v1/messages":
            if method != "POST":
                return _error(405, request_id, "Method not allowed")
            return await self._messages(request, body, request_id, fault)
        if path == "/v1/messages/count_tokens":
            if method != "POST":
                return _error(405, request_id, "Method not allowed")
            return self._count_tokens(body, request_id)
        if path == "/v1/models":
            if method != "GET":
                return _error(405, request_id, "Method not allowed")
            return _models(request, request_id)
        if path.startswith("/v1/models/"):
            if method != "GET":
                return _error(405, request_id, "Method not allowed")
            model = offline.get_model(path[len("/v1/models/") :])
            if model is None:
                return _error(404, request_id, "model not found")
            return _json(orjson.dumps(model), request_id)
        return _error(404, request_id, f"Not found: {method} {path}")

    # ------------------------------------------------------------------ endpoints

    async def _messages(
        self, request: web.BaseRequest, body: bytes, request_id: str, fault: Fault | None
    ) -> web.StreamResponse:
        kind = fault.kind if fault is not None else ""
        if kind == "slow_stream" and fault is not None and not _wants_stream(body):
            await asyncio.sleep(fault.delay)
        cached = self._cache.get(body) if self._cache_size else None
        if cached is not None and kind not in ("reset_during", "error_event"):
            self._cache.move_to_end(body)
            return _json(_ID_PREFIX + _message_id().encode() + cached, request_id)

        data, problem = _parse(body, need_max_tokens=True)
        if data is None:
            return _error(400, request_id, problem)
        message_id = _message_id()
        try:
            if data.get("stream") is True:
                events = list(offline.stream_message(data, message_id))
                return await self._stream(request, events, request_id, fault)
            message = offline.create_message(data, message_id)
        except offline.OfflineFault as exc:
            return _error(exc.status, request_id, exc.message, error_type=exc.error_type)

        if kind == "error_event":
            return _error(529, request_id)
        payload = orjson.dumps(message)
        if kind == "reset_during":
            return await _partial_then_abort(request, payload, request_id)
        if self._cache_size and len(body) <= _MAX_CACHED_BODY:
            placeholder = orjson.dumps({**message, "id": ""})
            self._cache[body] = placeholder[len(_ID_PREFIX) :]
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return _json(payload, request_id)

    async def _stream(
        self,
        request: web.BaseRequest,
        events: list[bytes],
        request_id: str,
        fault: Fault | None,
    ) -> web.StreamResponse:
        kind = fault.kind if fault is not None else ""
        gap = fault.delay if fault is not None and kind == "slow_stream" else 0.0
        if kind in ("reset_during", "error_event"):
            assert fault is not None
            events = events[: fault.after_events]
        elif self._coalesce and not gap:
            events = [b"".join(events)]
        response = web.StreamResponse(headers={**_SSE_HEADERS, "request-id": request_id})
        self.active_streams += 1
        own_abort = False
        try:
            await response.prepare(request)
            for n, event in enumerate(events):
                if gap and n:
                    await asyncio.sleep(gap)
                await response.write(event)
            if kind == "reset_during":
                own_abort = True
                _abort(request)
                return await _after_abort()
            if kind == "error_event":
                await response.write(
                    b"event: error\ndata: "
                    + orjson.dumps(
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        }
                    )
                    + b"\n\n"
                )
            await response.write_eof()
            self.completed_streams += 1
        except ConnectionError:
            # The client went away; aiohttp treats a ConnectionError while finishing the
            # response as a quiet premature disconnect, so hand the response back.
            self.cancelled_streams += 1
        except asyncio.CancelledError:
            if not own_abort:
                self.cancelled_streams += 1
            raise
        finally:
            self.active_streams -= 1
        return response

    def _count_tokens(self, body: bytes, request_id: str) -> web.Response:
        data, problem = _parse(body, need_max_tokens=False)
        if data is None:
            return _error(400, request_id, problem)
        return _json(orjson.dumps({"input_tokens": offline.count_tokens(data)}), request_id)


# ---------------------------------------------------------------------- helpers


def _wants_stream(body: bytes) -> bool:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("stream") is True


def _message_id() -> str:
    return "msg_" + os.urandom(12).hex()


def _json(payload: bytes, request_id: str, status: int = 200) -> web.Response:
    return web.Response(
        body=payload, status=status, content_type=_JSON, headers={"request-id": request_id}
    )


def _error(
    status: int,
    request_id: str,
    message: str = "",
    *,
    error_type: str | None = None,
    retry_after: float | None = None,
) -> web.Response:
    etype = error_type or error_type_for(status)
    payload = orjson.dumps(
        {
            "type": "error",
            "error": {"type": etype, "message": message or _ERROR_MESSAGES.get(etype, "Error")},
            "request_id": request_id,
        }
    )
    response = _json(payload, request_id, status)
    if retry_after is not None:
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        response.headers["retry-after"] = str(seconds)
    return response


def _parse(body: bytes, *, need_max_tokens: bool) -> tuple[dict[str, Any] | None, str]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, "Request body is not valid JSON"
    if not isinstance(data, dict):
        return None, "Request body must be a JSON object"
    if not isinstance(data.get("model"), str):
        return None, "model: Field required"
    if not isinstance(data.get("messages"), list):
        return None, "messages: Field required"
    if need_max_tokens:
        max_tokens = data.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return None, "max_tokens: Field required"
    return data, ""


def _models(request: web.BaseRequest, request_id: str) -> web.Response:
    query = request.query
    raw_limit = query.get("limit", "20")
    try:
        limit = int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= 1000:
        return _error(400, request_id, "limit: must be between 1 and 1000")
    page = offline.list_models(query.get("after_id"), query.get("before_id"), limit)
    return _json(orjson.dumps(page), request_id)


def _abort(request: web.BaseRequest) -> None:
    """Reset the connection: SO_LINGER 0 makes close() send a TCP RST."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _after_abort() -> web.StreamResponse:
    # The aborted connection cancels this handler (handler_cancellation); wait for it so
    # aiohttp never tries to write a response to the dead transport.
    await asyncio.sleep(3600)
    raise AssertionError("unreachable: aborted connection did not cancel the handler")


async def _partial_then_abort(
    request: web.BaseRequest, payload: bytes, request_id: str
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": _JSON, "request-id": request_id})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    _abort(request)
    return await _after_abort()


# ---------------------------------------------------------------------- thread runner


class StandInThread:
    """A StandIn running on its own event loop in a daemon thread.

    ``with StandInThread() as s:`` gives ``s.base_url``, ``s.faults``, ``s.requests``
    and the counters; deques and list appends are atomic, so tests may read and append
    from their own thread.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> None:
        self.standin = StandIn(host, port, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        return self.standin.base_url

    @property
    def port(self) -> int:
        return self.standin.port

    @property
    def faults(self) -> deque[Fault]:
        return self.standin.faults

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self.standin.requests

    @property
    def cancelled_streams(self) -> int:
        return self.standin.cancelled_streams

    @property
    def active_streams(self) -> int:
        return self.standin.active_streams

    @property
    def completed_streams(self) -> int:
        return self.standin.completed_streams

    def reset(self) -> None:
        self.standin.reset()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("stand-in thread already started")
        self._thread = threading.Thread(target=self._run, name="tutela-standin", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._failure is not None:
            raise RuntimeError("stand-in failed to start") from self._failure
        if not self._ready.is_set():
            raise RuntimeError("stand-in did not start within 10 s")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self.standin.stop(), loop)
        future.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.standin.start())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def __enter__(self) -> StandInThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------- CLI


async def _serve(host: str, port: int, cache_size: int, coalesce: bool) -> None:
    standin = StandIn(host, port, record=False, cache_size=cache_size, coalesce_streams=coalesce)
    await standin.start()
    sys.stdout.write(f"standin listening on {standin.base_url}\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m tutela.testing.standin --port 9100``: serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m tutela.testing.standin",
        description="Stand-in Anthropic upstream backed by tutela's offline model.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--cache-size", type=int, default=1024, help="JSON response LRU size")
    parser.add_argument(
        "--coalesce-streams",
        action="store_true",
        help="send each SSE stream in one write instead of one write per event",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    args = parser.parse_args(argv)
    coro = _serve(args.host, args.port, args.cache_size, args.coalesce_streams)
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            uvloop.run(coro)
            return 0
    asyncio.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())

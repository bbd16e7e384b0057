"""The guard protocols every built-in and customer guard implements.

A guard decides; it never acts. It returns a ``Verdict`` (allow, transform, block), never
raises to block, never mutates the exchange it is given, and keeps no per-request state on
``self`` (per-request state goes in ``exchange.scratch[guard.name]``; audit metadata in the
exchange's typed slots, such as ``data_protection``).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from tutela.types import Exchange, StreamEvent, Verdict

__all__ = ["OnError", "RequestGuard", "ResponseGuard", "StreamEvent"]

OnError = Literal["block", "allow"]


@runtime_checkable
class RequestGuard(Protocol):
    """Checks a request before it goes upstream.

    A guard may set ``waits = False`` when ``check_request`` never awaits I/O: the
    pipeline then skips its timeout (a timer cannot interrupt CPU work anyway). Guards
    without the attribute are treated as waiting and run under the guard timeout.
    """

    name: str
    on_error: OnError

    async def check_request(self, exchange: Exchange) -> Verdict: ...


@runtime_checkable
class ResponseGuard(Protocol):
    """Checks a response on its way back.

    ``check_message`` sees a whole (non-streamed) message. ``check_event`` sees every event
    of a stream as it flows, in order, and must be cheap and synchronous: it runs between
    the upstream's bytes and the client's socket. To hold text back or send more than one
    event for one, it returns ``Verdict.replace_events(reason, *events)``. ``finish`` runs once, after the last byte
    or after a failure, whatever happened, so a guard can settle what it counted.
    """

    name: str
    on_error: OnError

    def check_message(self, exchange: Exchange, message: dict[str, Any]) -> Verdict: ...

    def check_event(self, exchange: Exchange, event: StreamEvent) -> Verdict: ...

    def finish(self, exchange: Exchange) -> None: ...

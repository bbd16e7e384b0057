"""THE ordered list of guards, and the runner that applies them and fails closed.

Order matters and is written once, in ``default_guards``. The runner:
- calls each request guard under a timeout; a guard that raises or times out blocks the
  exchange (``on_error: block``, the default) or is recorded and skipped (``allow``);
- applies ``transform`` verdicts to the request body for the next guard;
- runs response guards on whole messages and on every streamed event, never skipping a
  stream; a response guard that fails on a stream stops the stream with an error event;
- records exactly one ``GuardRecord`` per verdict on the exchange for the audit trail
  (on a stream: allow verdicts without findings are not recorded, and a transform without
  findings is recorded once per guard and reason, not once per event).
It never logs content and never holds per-request state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from tutela.errors import ErrorKind
from tutela.guard import RequestGuard, ResponseGuard, StreamEvent
from tutela.types import Action, Exchange, GuardRecord, Verdict

log = logging.getLogger("tutela.pipeline")


def _record(
    exchange: Exchange, guard: str, phase: str, verdict: Verdict, error: bool = False
) -> None:
    exchange.records.append(
        GuardRecord(
            guard=guard,
            phase=phase,
            action=verdict.action.value,
            reason=verdict.reason,
            classes=tuple(sorted({f.cls for f in verdict.findings})),
            error=error,
        )
    )


def _repeated(exchange: Exchange, guard: str, verdict: Verdict) -> bool:
    """A finding-less stream transform already recorded with the same reason (one per kind)."""
    if verdict.action is not Action.TRANSFORM or verdict.findings:
        return False
    return any(
        r.guard == guard
        and r.phase == "stream"
        and r.action == "transform"
        and not r.classes
        and r.reason == verdict.reason
        for r in exchange.records
    )


def _failed(guard: str, phase: str, exc: BaseException) -> Verdict:
    what = "timed out" if isinstance(exc, TimeoutError) else f"failed ({type(exc).__name__})"
    return Verdict.block(
        f"guard {guard!r} {what} during {phase}; blocked because it fails closed",
        error=ErrorKind.GUARD_FAILURE,
    )


class Pipeline:
    """Runs request guards, then (after upstream) response guards, in one fixed order."""

    def __init__(
        self,
        request_guards: Sequence[RequestGuard],
        response_guards: Sequence[ResponseGuard],
        *,
        timeout: float = 2.0,
    ) -> None:
        names = [g.name for g in request_guards]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate request guard names: {names}")
        names = [g.name for g in response_guards]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate response guard names: {names}")
        self.request_guards = tuple(request_guards)
        self.response_guards = tuple(response_guards)
        self.timeout = timeout

    async def check_request(self, exchange: Exchange) -> Verdict | None:
        """Run every request guard; return the blocking verdict, or None to go on."""
        for guard in self.request_guards:
            try:
                if getattr(guard, "waits", True):
                    async with asyncio.timeout(self.timeout):
                        verdict = await guard.check_request(exchange)
                else:  # CPU-only: nothing to time out at, and the timer costs per request
                    verdict = await guard.check_request(exchange)
            except Exception as exc:  # fail closed on any guard fault, by design
                log.warning(
                    "guard failed",
                    extra={
                        "guard": guard.name,
                        "error": type(exc).__name__,
                        "request_id": exchange.request_id,
                    },
                )
                verdict = _failed(guard.name, "request", exc)
                if guard.on_error == "allow":
                    _record(
                        exchange, guard.name, "request", Verdict.allow(verdict.reason), error=True
                    )
                    continue
                _record(exchange, guard.name, "request", verdict, error=True)
                return verdict
            _record(exchange, guard.name, "request", verdict)
            if verdict.action is Action.BLOCK:
                return verdict
            if verdict.action is Action.TRANSFORM and verdict.body is not None:
                exchange.body = verdict.body
                exchange.scratch["body_changed"] = True
        return None

    def check_message(
        self, exchange: Exchange, message: dict[str, Any]
    ) -> tuple[Verdict | None, dict[str, Any]]:
        """Run response guards over a whole message: (blocking verdict or None, message)."""
        for guard in self.response_guards:
            try:
                verdict = guard.check_message(exchange, message)
            except Exception as exc:
                verdict = _failed(guard.name, "response", exc)
                if guard.on_error == "allow":
                    _record(
                        exchange, guard.name, "response", Verdict.allow(verdict.reason), error=True
                    )
                    continue
                _record(exchange, guard.name, "response", verdict, error=True)
                return verdict, message
            if verdict.action is not Action.ALLOW or verdict.findings:
                _record(exchange, guard.name, "response", verdict)
            if verdict.action is Action.BLOCK:
                return verdict, message
            if verdict.action is Action.TRANSFORM and verdict.body is not None:
                message = verdict.body
        return None, message

    def check_event(self, exchange: Exchange, event: StreamEvent) -> tuple[Verdict | None, bytes]:
        """Run response guards over one streamed event: (blocking verdict or None, bytes out).

        The bytes out may hold no event (a guard held text back) or several, concatenated.
        """
        return self._run_event(exchange, event, 0)

    def _run_event(
        self, exchange: Exchange, event: StreamEvent, first: int
    ) -> tuple[Verdict | None, bytes]:
        raw = event.raw
        guards = self.response_guards
        for position in range(first, len(guards)):
            guard = guards[position]
            try:
                verdict = guard.check_event(exchange, event)
            except Exception as exc:
                verdict = _failed(guard.name, "stream", exc)
                if guard.on_error == "allow":
                    _record(
                        exchange, guard.name, "stream", Verdict.allow(verdict.reason), error=True
                    )
                    continue
                _record(exchange, guard.name, "stream", verdict, error=True)
                return verdict, b""
            if verdict.action is Action.ALLOW and not verdict.findings:
                continue
            if not _repeated(exchange, guard.name, verdict):
                _record(exchange, guard.name, "stream", verdict)
            if verdict.action is Action.BLOCK:
                return verdict, b""
            if verdict.action is Action.TRANSFORM:
                if verdict.events is not None:
                    # Each replacement event goes through the guards after this one.
                    out: list[bytes] = []
                    for replacement in verdict.events:
                        blocked, raw = self._run_event(exchange, replacement, position + 1)
                        if blocked is not None:
                            return blocked, b""
                        out.append(raw)
                    return None, b"".join(out)
                if verdict.body is not None:
                    event = StreamEvent.of(event.event, verdict.body)
                    raw = event.raw
        return None, raw

    def finish(self, exchange: Exchange) -> None:
        """Let every response guard settle, whatever happened to the exchange."""
        for guard in self.response_guards:
            try:
                guard.finish(exchange)
            except Exception as exc:
                log.error(
                    "guard finish failed",
                    extra={
                        "guard": guard.name,
                        "error": type(exc).__name__,
                        "request_id": exchange.request_id,
                    },
                )
                _record(
                    exchange, guard.name, "finish", _failed(guard.name, "finish", exc), error=True
                )


def default_guards(policy: Any, services: Any) -> Pipeline:
    """THE guard order.

    Requests: limits, rate limits, data protection, injection defence. Injection runs after
    data protection so that it scans (and spotlights) the text that will actually go
    upstream, and so that its spotlight rewrite is the last change to the body.
    Responses: rate limits, data protection (restores pseudonyms), injection (canary
    leaks), output validation last, so it checks exactly what the client will receive.
    """
    from tutela.guards.dlp import DlpGuard
    from tutela.guards.injection import InjectionGuard, OutputGuard
    from tutela.guards.limits import LimitsGuard
    from tutela.guards.rate_limits import RateLimitGuard

    settings = policy.guards
    request: list[RequestGuard] = []
    response: list[ResponseGuard] = []
    if settings.limits.enabled:
        request.append(LimitsGuard(settings.limits))
    if settings.rate_limits.enabled:
        rate_limits = RateLimitGuard(settings.rate_limits, services.counters)
        request.append(rate_limits)
        response.append(rate_limits)
    if settings.dlp.enabled:
        from functools import partial

        from tutela.identity.data_access import may_send

        role_limits = partial(may_send, policy) if policy.identity.role_data_classes else None
        dlp = DlpGuard(settings.dlp, may_send=role_limits)
        request.append(dlp)
        response.append(dlp)
    if settings.injection.enabled:
        injection = InjectionGuard(settings.injection)
        request.append(injection)
        response.append(injection)
    if settings.output.enabled:
        from tutela.guards.dlp import scanner_config, shared_scanner

        scanner = shared_scanner(scanner_config(settings.dlp))
        response.append(OutputGuard(settings.output, scanner))
    return Pipeline(request, response, timeout=settings.timeout_seconds)

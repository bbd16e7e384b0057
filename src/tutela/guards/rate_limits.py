"""Per-key and per-workspace rate limits and token budgets.

Requests per minute use a token bucket (smooth, bursts up to one minute's allowance).
Tokens per minute and per day use fixed windows (UTC minute, UTC day), charged as usage
arrives: on a stream, at ``message_start`` and every ``message_delta``, so concurrent
requests see spending as it happens. A request is refused with 429 and ``retry-after``
once any limit is reached. Counters live in this process by default, in Redis when
``backend: redis`` (shared by every replica).
"""

from __future__ import annotations

from typing import Any

from tutela.counters import Counters, Limit
from tutela.errors import ErrorKind
from tutela.guard import OnError, StreamEvent
from tutela.policy import RateLimit, RateLimitSettings
from tutela.types import ALLOW, Exchange, Finding, Usage, Verdict

_SCRATCH = "rate_limits"


def _limits(scope: str, ident: str, limit: RateLimit) -> list[Limit]:
    out = []
    if limit.requests_per_minute:
        out.append(
            Limit(
                kind="requests", scope=scope, key=f"rpm:{ident}", amount=limit.requests_per_minute
            )
        )
    if limit.tokens_per_minute:
        out.append(
            Limit(
                kind="tokens_minute",
                scope=scope,
                key=f"tpm:{ident}",
                amount=limit.tokens_per_minute,
            )
        )
    if limit.tokens_per_day:
        out.append(
            Limit(kind="tokens_day", scope=scope, key=f"tpd:{ident}", amount=limit.tokens_per_day)
        )
    return out


class RateLimitGuard:
    name = "rate_limits"

    def __init__(self, settings: RateLimitSettings, counters: Counters) -> None:
        self.settings = settings
        self.counters = counters
        self.on_error: OnError = settings.on_error
        self.waits = settings.backend == "redis"  # in-process counters never wait

    def _applicable(self, exchange: Exchange) -> list[Limit]:
        principal = exchange.principal
        if principal is None:
            return []
        return _limits("key", principal.key_id, self.settings.per_key) + _limits(
            "workspace", principal.workspace_id, self.settings.per_workspace
        )

    async def check_request(self, exchange: Exchange) -> Verdict:
        if exchange.endpoint != "messages":
            return ALLOW
        limits = self._applicable(exchange)
        if not limits:
            return ALLOW
        hit = await self.counters.check(limits)
        if hit is None:
            exchange.scratch[_SCRATCH] = {"limits": limits, "charged": 0}
            return ALLOW
        limit, retry_after = hit
        what = {
            "requests": f"{limit.amount} requests per minute",
            "tokens_minute": f"{limit.amount} tokens per minute",
            "tokens_day": f"{limit.amount} tokens per day",
        }[limit.kind]
        return Verdict.block(
            f"rate limit reached: this {limit.scope} may use {what}",
            Finding(cls=f"rate_limit.{limit.scope}.{limit.kind}"),
            error=ErrorKind.RATE_LIMIT,
            retry_after=retry_after,
        )

    def _charge(self, exchange: Exchange, usage: Usage) -> None:
        state = exchange.scratch.get(_SCRATCH)
        if state is None:
            return
        total = usage.total_input + usage.output_tokens
        delta = total - state["charged"]
        if delta > 0:
            state["charged"] = total
            self.counters.charge(state["limits"], delta)

    def check_message(self, exchange: Exchange, message: dict[str, Any]) -> Verdict:
        usage = Usage()
        usage.merge(message.get("usage"))
        self._charge(exchange, usage)
        return ALLOW

    def check_event(self, exchange: Exchange, event: StreamEvent) -> Verdict:
        if event.event in ("message_start", "message_delta"):
            # The relay merges usage into exchange.usage before guards see the event.
            self._charge(exchange, exchange.usage)
        return ALLOW

    def finish(self, exchange: Exchange) -> None:
        self._charge(exchange, exchange.usage)

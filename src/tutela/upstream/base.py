"""The one seam between the gateway and any model provider: ``Upstream.send``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Response headers worth relaying to API clients; everything else is hop-by-hop or ours.
RELAYED_PREFIXES = ("anthropic-",)
RELAYED_HEADERS = frozenset({"request-id", "retry-after", "x-should-retry", "content-type"})
# Which upstream account serves a workspace is the operator's business, not the client's.
WITHHELD_HEADERS = frozenset({"anthropic-organization-id"})


@dataclass(slots=True, kw_only=True)
class UpstreamCall:
    """A request to send upstream. ``headers`` holds only what may be forwarded."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    stream: bool
    # The body already parsed by the ingress, so in-process upstreams need not parse again.
    parsed: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class UpstreamResponse:
    """What came back. A stream has ``chunks``; anything else has its whole ``body``."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None
    closer: Callable[[], Awaitable[None]] | None = field(default=None)

    async def aclose(self) -> None:
        if self.closer is not None:
            closer, self.closer = self.closer, None
            await closer()


class Upstream(Protocol):
    name: str
    region: str

    async def send(self, call: UpstreamCall) -> UpstreamResponse:
        """Send ``call``; raise ``UpstreamError`` when no response could be had."""
        ...

    async def close(self) -> None: ...


def relayed_headers(items: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in items:
        lower = name.lower()
        if lower in WITHHELD_HEADERS:
            continue
        if lower in RELAYED_HEADERS or lower.startswith(RELAYED_PREFIXES):
            out.append((lower.encode("latin-1"), value.encode("latin-1")))
    return out

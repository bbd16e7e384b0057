"""The admin port's ASGI app: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from tutela.ingress.app import Receive, Scope, Send
from tutela.metrics import exposition

if TYPE_CHECKING:
    from tutela.gateway import Gateway


class AdminApp:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.gateway.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.gateway.stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if method not in ("GET", "HEAD"):
            await self._json(send, 405, {"error": "method not allowed"})
        elif path == "/healthz":
            await self._json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            await self._ready(send)
        elif path == "/metrics":
            writer = self.gateway.writer
            if writer is not None:
                self.gateway.metrics.audit_backlog.set(writer.backlog)
            body = exposition(self.gateway.metrics)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
        else:
            await self._json(send, 404, {"error": f"no route for {method} {path}"})

    async def _ready(self, send: Send) -> None:
        gateway = self.gateway
        checks = {
            "database": await asyncio.to_thread(gateway.store.ping),
            # Ready while the audit writer keeps up; a backlog means the database lags.
            "writer": gateway.writer is not None and gateway.writer.backlog < 10_000,
        }
        ready = all(checks.values())
        await self._json(
            send,
            200 if ready else 503,
            {"status": "ready" if ready else "not_ready", "checks": checks},
        )

    @staticmethod
    async def _json(send: Send, status: int, payload: object) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(payload)})

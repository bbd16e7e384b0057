"""The admin port's ASGI app: health, metrics, the admin API and sign-in, by route table.

``routes.ROUTES`` is the whole surface; every route declares its permission and
``routes.dispatch`` enforces it before any handler runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tutela.admin.http import HttpError, Response, read_request
from tutela.admin.routes import build_routes, dispatch
from tutela.ingress.app import Receive, Scope, Send

if TYPE_CHECKING:
    from tutela.gateway import Gateway

log = logging.getLogger("tutela.admin")

ROUTES = build_routes()


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
        try:
            request = await read_request(scope, receive)
            response = await dispatch(self.gateway, ROUTES, request)
        except HttpError as exc:
            response = Response.error(exc.status, exc.kind, exc.message)
        except Exception as exc:  # fail closed, and never echo what was sent
            log.error("admin request failed", extra={"error": type(exc).__name__})
            response = Response.error(500, "api_error", "internal error")
        if scope["method"] == "HEAD":
            response.body = b""
        await response.send(send)

"""Runs the gateway and the admin API: two listeners, one process, one event loop.

The admin app is only ever bound to the admin listener. On first start with an empty
database a ``default`` workspace and a first admin key are created and the key is printed
once, with a command to try it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from tutela.admin.app import AdminApp
from tutela.audit.events import key_event, workspace_event
from tutela.gateway import Gateway
from tutela.identity.api_keys import MintedKey, mint_key
from tutela.ingress.app import GatewayApp
from tutela.policy import Policy
from tutela.store.database import Store


def bootstrap(store: Store) -> MintedKey | None:
    """Create the ``default`` workspace and a first admin key if the database is empty."""
    if store.list_workspaces():
        return None
    workspace = store.create_workspace("default")
    minted = mint_key(store, workspace="default", role="admin", name="first admin key")
    store.append_audit(
        [
            workspace_event("created", "default", workspace.id, "bootstrap").row(),
            key_event("created", minted.record.public(), "bootstrap", workspace.id).row(),
        ]
    )
    return minted


def first_key_banner(minted: MintedKey, host: str, port: int) -> str:
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    return f"""
tutela: first start. Created workspace 'default' and its first admin API key.
This key is shown once and stored only as a hash; keep it somewhere safe:

    {minted.secret}

Try it:

    curl -s {url}/v1/messages \\
      -H 'x-api-key: {minted.secret}' \\
      -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \\
      -d '{{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{{"role":"user","content":"Hello, tutela"}}]}}'

Or point the SDK or Claude Code at it:  ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=<the key>
"""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to ``serve`` (two servers, one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn versions
        return None


def _config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="none",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=30,
    )


async def serve(
    policy: Policy,
    store: Store,
    *,
    host: str | None = None,
    gateway_port: int | None = None,
    admin_port: int | None = None,
    on_ready: Callable[[int, int], None] | None = None,
) -> None:
    gateway = Gateway(policy, store)
    gateway_server = _Server(
        _config(
            GatewayApp(gateway),
            host or policy.gateway.host,
            policy.gateway.port if gateway_port is None else gateway_port,
        )
    )
    admin_server = _Server(
        _config(
            AdminApp(gateway),
            host or policy.admin.host,
            policy.admin.port if admin_port is None else admin_port,
        )
    )
    loop = asyncio.get_running_loop()

    def stop() -> None:
        gateway_server.should_exit = True
        admin_server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
    await gateway.start()
    try:
        tasks = [
            asyncio.create_task(gateway_server.serve()),
            asyncio.create_task(admin_server.serve()),
        ]
        while not (gateway_server.started and admin_server.started):
            if any(task.done() for task in tasks):
                stop()
                break
            await asyncio.sleep(0.01)
        else:
            if on_ready is not None:
                on_ready(_bound_port(gateway_server), _bound_port(admin_server))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if not (gateway_server.started and admin_server.started):
            raise SystemExit("tutela: could not bind its listeners (is the port in use?)")
    finally:
        await gateway.stop()


def _bound_port(server: uvicorn.Server) -> int:
    for listener in server.servers:
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return server.config.port

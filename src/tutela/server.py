"""Runs the gateway and the admin API: two listeners, one process, one event loop.

The admin app is only ever bound to the admin listener. On first start with an empty
database a ``default`` workspace and a first admin key are created and the key is printed
once, with a command to try it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from tutela.admin.app import AdminApp
from tutela.audit.events import Actor, key_event, workspace_event
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
    actor = Actor(kind="system", uid="bootstrap")
    store.append_audit(
        [
            workspace_event("created", "default", workspace.id, actor),
            key_event("created", minted.record.public(), actor, workspace.id),
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
    sockets: tuple[socket.socket, socket.socket | None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM. With ``sockets`` (from ``run_workers``), serve on those;
    a worker given no admin socket serves only the gateway."""
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
    with_admin = sockets is None or sockets[1] is not None
    await gateway.start(exporters=with_admin)
    if not with_admin:
        admin_server.started = True  # nothing to start: another worker serves admin
    try:
        tasks = [
            asyncio.create_task(gateway_server.serve(sockets=[sockets[0]] if sockets else None)),
        ]
        if with_admin:
            tasks.append(
                asyncio.create_task(
                    admin_server.serve(sockets=[sockets[1]] if sockets and sockets[1] else None)
                )
            )
        while not (gateway_server.started and admin_server.started):
            if any(task.done() for task in tasks):
                stop()
                break
            await asyncio.sleep(0.01)
        else:
            if on_ready is not None:
                on_ready(
                    _bound_port(gateway_server),
                    _bound_port(admin_server) if with_admin else 0,
                )
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


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or SystemExit with a clear message (e.g. the port is in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"tutela: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_workers(
    workers: int,
    run_worker: Callable[[int, tuple[socket.socket, socket.socket | None]], None],
    sockets: tuple[socket.socket, socket.socket],
) -> int:
    """Fork ``workers`` processes that share the two bound listeners, and wait.

    Worker 0 also serves the admin port. SIGINT/SIGTERM are passed on to every worker; if
    one worker dies, the others are stopped too, so a half-dead gateway never lingers.
    """
    gateway_sock, admin_sock = sockets
    children: list[int] = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                run_worker(index, (gateway_sock, admin_sock if index == 0 else None))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    gateway_sock.close()
    admin_sock.close()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0
    remaining = set(children)
    while remaining:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        remaining.discard(pid)
        exit_code = os.waitstatus_to_exitcode(code)
        if exit_code not in (0, -signal.SIGTERM, -signal.SIGINT):
            status = 1
        if remaining:
            forward(signal.SIGTERM, None)
    return status

#!/usr/bin/env python3
"""The floor under tutela's overhead: what a do-nothing relay on the same stack costs.

tutela's added latency is its own work (auth, guards, audit, logging, metrics) plus the
price of being an HTTP server and an HTTP client in one Python process. This benchmark
measures that price alone: minimal relays with no policy at all, with the same client,
request and stand-in as ``gateway_latency.py``:

* ``uvicorn``  -- uvicorn (httptools, uvloop) ASGI app -> aiohttp client: tutela's stack;
* ``aiohttp``  -- aiohttp's low-level web server -> aiohttp client (same uvloop).

Each relay reads the whole request, posts it upstream over a pooled keep-alive
connection, and relays the answer (JSON with Content-Length, SSE chunk by chunk).

    .venv/bin/python bench/stack_floor.py            # about a minute
    .venv/bin/python bench/stack_floor.py --quick

``--serve uvicorn|aiohttp --port P --upstream-port U`` runs one relay (used internally).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gateway_latency as gl

_FORWARD = (b"content-type", b"anthropic-version", b"accept")


# --------------------------------------------------------------------------- relays


def serve_uvicorn(port: int, upstream: str) -> None:
    import aiohttp
    import uvicorn

    state: dict[str, aiohttp.ClientSession] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k in _FORWARD}
        session = state.get("s")
        if session is None:
            session = state["s"] = aiohttp.ClientSession(auto_decompress=False)
        async with session.post(upstream + scope["path"], data=body, headers=headers) as resp:
            ctype = resp.headers.get("content-type", "application/json").encode()
            if ctype.startswith(b"text/event-stream"):
                await send(
                    {
                        "type": "http.response.start",
                        "status": resp.status,
                        "headers": [(b"content-type", ctype)],
                    }
                )
                async for chunk in resp.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            else:
                data = await resp.read()
                await send(
                    {
                        "type": "http.response.start",
                        "status": resp.status,
                        "headers": [
                            (b"content-type", ctype),
                            (b"content-length", str(len(data)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": data})

    config = uvicorn.Config(
        app,
        host=gl.HOST,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    import asyncio

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"relay listening on http://{gl.HOST}:{port}", flush=True)
        await task

    import uvloop

    uvloop.run(main())


def serve_aiohttp(port: int, upstream: str) -> None:
    import asyncio

    import aiohttp
    import uvloop
    from aiohttp import web

    async def main() -> None:
        session = aiohttp.ClientSession(auto_decompress=False)

        async def handler(request: web.BaseRequest) -> web.StreamResponse:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower().encode() in _FORWARD}
            async with session.post(upstream + request.path, data=body, headers=headers) as resp:
                ctype = resp.headers.get("content-type", "application/json")
                if ctype.startswith("text/event-stream"):
                    out = web.StreamResponse(status=resp.status, headers={"content-type": ctype})
                    await out.prepare(request)
                    async for chunk in resp.content.iter_any():
                        await out.write(chunk)
                    await out.write_eof()
                    return out
                data = await resp.read()
                return web.Response(status=resp.status, body=data, headers={"content-type": ctype})

        runner = web.ServerRunner(web.Server(handler, access_log=None))
        await runner.setup()
        await web.TCPSite(runner, gl.HOST, port).start()
        print(f"relay listening on http://{gl.HOST}:{port}", flush=True)
        await asyncio.Event().wait()

    uvloop.run(main())


# --------------------------------------------------------------------------- benchmark


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", choices=("uvicorn", "aiohttp"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small counts for a smoke run")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    args = parser.parse_args(argv)
    if args.serve:
        upstream = f"http://{gl.HOST}:{args.upstream_port}"
        (serve_uvicorn if args.serve == "uvicorn" else serve_aiohttp)(args.port, upstream)
        return 0

    requests = args.requests or (300 if args.quick else 2000)
    streams = max(50, requests // 2)
    warmup = 50 if args.quick else 200
    duration = args.duration or (3.0 if args.quick else 10.0)
    wrk = shutil.which("wrk")
    if not wrk:
        gl.progress("wrk is not installed: throughput uses the Python load generator")
    deadline = time.monotonic() + 900
    load = gl.background_load()
    gl.progress(f"background load before starting: {load:.0f}% of one core")
    children: list[gl.Child] = []
    results: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="tutela-floor-") as tmp_name:
            tmp = Path(tmp_name)
            up = gl.free_port()
            standin = gl.Child(
                "stand-in",
                [
                    sys.executable,
                    "-m",
                    "tutela.testing.standin",
                    "--host",
                    gl.HOST,
                    "--port",
                    str(up),
                ],
                "standin listening on",
                tmp,
                subprocess.DEVNULL,
            )
            children.append(standin)
            standin.wait_ready()
            ports = {"direct": up}
            pids = {"direct": standin.pid}
            for kind in ("uvicorn", "aiohttp"):
                port = gl.free_port()
                relay = gl.Child(
                    f"{kind} relay",
                    [
                        sys.executable,
                        __file__,
                        "--serve",
                        kind,
                        "--port",
                        str(port),
                        "--upstream-port",
                        str(up),
                    ],
                    "relay listening on",
                    tmp,
                    subprocess.DEVNULL,
                )
                children.append(relay)
                relay.wait_ready()
                ports[kind] = port
                pids[kind] = relay.pid
            json_body, stream_body = gl.request_body(False), gl.request_body(True)
            paths = [
                gl.PathSetup(
                    name,
                    port,
                    gl.raw_request(port, json_body, "unused"),
                    gl.raw_request(port, stream_body, "unused"),
                )
                for name, port in ports.items()
            ]
            gl.progress(f"latency: {requests} requests per path, 1 connection")
            lat = gl.run_interleaved(paths, False, warmup, requests, 4, "latency", deadline)
            gl.progress(f"streaming: {streams} requests per path, 1 connection")
            sse = gl.run_interleaved(paths, True, warmup, streams, 4, "stream", deadline)
            for path in paths:
                path.conn.close()
            script = tmp / "post.lua"
            script.write_text(gl.wrk_script(json_body, "unused"))
            for path in paths:
                time.sleep(1.0)
                gl.progress(f"throughput, {gl.CONNECTIONS} connections, {duration:g}s: {path.name}")
                meter = gl.CpuMeter(
                    {"stand-in": standin.pid}
                    | ({path.name: pids[path.name]} if path.name != "direct" else {})
                )
                tp = (
                    gl.run_wrk(wrk, path.port, script, duration, 1)
                    if wrk
                    else gl.run_python_load(path.port, path.json_request, duration)
                )
                tp["cpu"] = meter.stop(int(tp.get("requests", 0)), bool(wrk))
                gl.progress(f"  {path.name}: {tp['rps']:.0f} req/s")
                results[path.name] = {
                    "latency": gl.summarize(lat[path.name]["total"]),
                    "ttfb": gl.summarize(sse[path.name]["ttfb"]),
                    "throughput": tp,
                }
    finally:
        for child in reversed(children):
            child.stop()

    base = results["direct"]
    print()
    print(f"stack floor: minimal relays, no policy; background load {load:.0f}% of one core")
    print()
    header = (
        "path",
        "p50 ms",
        "p99 ms",
        "added p50",
        "TTFB p50",
        "added TTFB",
        "req/s @16",
        "ratio",
        "relay CPU us/req",
    )
    rows = []
    for name, res in results.items():
        cpu = res["throughput"]["cpu"].get(name, {}).get("cpu_us_per_request")
        rows.append(
            (
                name,
                f"{res['latency']['p50']:.3f}",
                f"{res['latency']['p99']:.3f}",
                f"{res['latency']['p50'] - base['latency']['p50']:+.3f}",
                f"{res['ttfb']['p50']:.3f}",
                f"{res['ttfb']['p50'] - base['ttfb']['p50']:+.3f}",
                f"{res['throughput']['rps']:.0f}",
                f"{res['throughput']['rps'] / base['throughput']['rps']:.2f}",
                "-" if cpu is None else f"{cpu:.0f}",
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        print(
            "| "
            + " | ".join(c.rjust(widths[j]) if j else c.ljust(widths[j]) for j, c in enumerate(row))
            + " |"
        )
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"background_load": load, "results": results}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

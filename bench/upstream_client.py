#!/usr/bin/env python3
"""Which HTTP client for the upstream hop? aiohttp's versus tutela's ``Http1Pool``.

Starts the stand-in upstream in its own process, then, in this process, sends the same
POST /v1/messages sequentially over one keep-alive connection with each client and
prints the CPU time this process spent per request (the client's cost) and the wall time
per round trip, side by side, alternating the clients in blocks so machine drift hits
both alike::

    .venv/bin/python bench/upstream_client.py            # about 20 s
    .venv/bin/python bench/upstream_client.py --requests 1000 --blocks 2
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import aiohttp
import uvloop

from tutela.upstream.http1 import Http1Pool

BODY = (
    b'{"model":"claude-sonnet-4-6","max_tokens":256,"messages":[{"role":"user","content":"'
    + b"x" * 900
    + b'"}]}'
)
HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01"}


async def with_aiohttp(base_url: str, n: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=16),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:

        async def one() -> None:
            response = await session.request(
                "POST", base_url + "/v1/messages", data=BODY, headers=HEADERS
            )
            await response.read()
            response.release()

        return await measure(one, n)


async def with_http1(base_url: str, n: int) -> tuple[float, float]:
    pool = Http1Pool(base_url, max_connections=16, connect_timeout=5)

    async def one() -> None:
        response = await pool.request("POST", "/v1/messages", HEADERS, BODY, idle_timeout=30)
        await response.read()

    try:
        return await measure(one, n)
    finally:
        await pool.close()


async def measure(one, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    for _ in range(100):
        await one()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await one()
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per client per block")
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    standin = subprocess.Popen(
        [sys.executable, "-m", "tutela.testing.standin", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert standin.stdout is not None
        line = standin.stdout.readline()
        base_url = line.strip().rsplit(" ", 1)[-1]
        results: dict[str, list[tuple[float, float]]] = {"aiohttp": [], "http1": []}
        for block in range(args.blocks):
            for name, run in (("aiohttp", with_aiohttp), ("http1", with_http1)):
                results[name].append(uvloop.run(run(base_url, args.requests)))
                print(f"block {block + 1}/{args.blocks}: {name} done", file=sys.stderr)
    finally:
        standin.terminate()
        standin.wait(timeout=10)
    print("| client  | CPU µs/request (median of blocks) | wall µs/round trip |")
    print("|---------|-----------------------------------|--------------------|")
    medians = {}
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        medians[name] = cpu
        print(f"| {name:<7} | {cpu:33.0f} | {wall:18.0f} |")
    print(f"\naiohttp / http1 CPU ratio: {medians['aiohttp'] / medians['http1']:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

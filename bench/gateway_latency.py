#!/usr/bin/env python3
"""What tutela adds: the same client and request, direct to a stand-in upstream vs through tutela.

One run starts the stand-in Anthropic upstream and a fresh tutela (temporary SQLite database,
default guards, JSON access log on and written to a file), then measures, for both paths:

* non-streaming POST /v1/messages latency p50/p99 at 1 connection (sequential requests over
  one keep-alive connection, after a warm-up);
* streaming (SSE) time to first body byte and total stream time, p50/p99, at 1 connection;
* non-streaming throughput at 16 concurrent connections for a fixed duration (wrk when it
  is installed, else a Python asyncio load generator).

It prints a side-by-side table with the added milliseconds and ratios, and checks the
targets (informational: the exit code is 0 unless something broke). Everything talks to
127.0.0.1 only, and every loop is bounded in count and time.

    .venv/bin/python bench/gateway_latency.py            # full run, about a minute
    .venv/bin/python bench/gateway_latency.py --quick    # smoke run, about 20 s
    .venv/bin/python bench/gateway_latency.py --json results.json --profile /tmp/tutela.raw
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MODEL = "claude-sonnet-4-6"
MAX_TOKENS = 256
CONNECTIONS = 16
READY_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
KEY_RE = re.compile(r"tutela_sk_[A-Za-z0-9_\-]+")

TARGETS = {
    "added_p50_ms": ("added latency p50", 1.0, "<="),
    "added_p99_ms": ("added latency p99", 3.0, "<="),
    "added_ttfb_p50_ms": ("added TTFB p50", 1.0, "<="),
    "throughput_ratio": ("throughput ratio", 0.50, ">="),
}

_T0 = time.monotonic()


def progress(message: str) -> None:
    sys.stderr.write(f"[{time.monotonic() - _T0:6.1f}s] {message}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------- request body


def request_body(stream: bool, conversation: int = 0) -> bytes:
    """A realistic small Messages request (~1 KB): system prompt, a short conversation.

    With ``conversation`` > 0: a coding agent's request instead, that many turns of file
    reads (``dlp_conversation.conversation``: a 12 KB system prompt, 3 KB tool results).
    The same body is sent every time, as an agent's history is on every turn."""
    if conversation:
        from dlp_conversation import conversation as agent_conversation

        system, messages = agent_conversation(conversation)
        agent: dict[str, Any] = {
            "model": MODEL,
            "max_tokens": MAX_TOKENS,
            "system": system,
            "messages": messages,
        }
        if stream:
            agent["stream"] = True
        return json.dumps(agent, separators=(",", ":")).encode()
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": MAX_TOKENS,
        "system": (
            "You are a careful assistant for the finance team at a mid-sized company. "
            "Answer concisely, cite the policy section you rely on, and say so plainly "
            "when you do not know. Never invent figures."
        ),
        "messages": [
            {
                "role": "user",
                "content": "Can I expense a train ticket booked for a client visit next week?",
            },
            {
                "role": "assistant",
                "content": (
                    "Yes. Travel for client visits is reimbursable under section 4.2 of the "
                    "expenses policy if it is booked in standard class and approved by your "
                    "manager beforehand."
                ),
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": (
                            "Thanks. The visit got moved, so I had to change the booking and "
                            "pay a rebooking fee of 18 euros. Is the fee covered as well, and "
                            "what should I attach to the claim so that it is approved quickly? "
                            "My manager is travelling until Thursday, so please also tell me "
                            "whether someone else can approve it in the meantime."
                        ),
                    }
                ],
            },
        ],
        "temperature": 0.2,
        "metadata": {"user_id": "bench-user-0001"},
    }
    if stream:
        body["stream"] = True
    return json.dumps(body, separators=(",", ":")).encode()


def raw_request(port: int, body: bytes, api_key: str) -> bytes:
    head = (
        f"POST /v1/messages HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        f"content-type: application/json\r\n"
        f"accept: application/json\r\n"
        f"anthropic-version: 2023-06-01\r\n"
        f"x-api-key: {api_key}\r\n"
        f"content-length: {len(body)}\r\n"
        f"\r\n"
    )
    return head.encode("latin-1") + body


# --------------------------------------------------------------------------- HTTP/1.1 client

_HEAD, _BODY_LEN, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_CRLF, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class ResponseParser:
    """Incremental HTTP/1.1 response parser: Content-Length, chunked, or close-delimited.

    ``feed(data, t_ns)`` gets each received segment with the time it arrived, so the parser
    can tell when the head ended (``t_head``) and when the first body byte arrived
    (``t_first``: for chunked responses the first decoded payload byte, not the size line).
    """

    __slots__ = (
        "body",
        "buf",
        "headers",
        "keep_alive",
        "remaining",
        "state",
        "status",
        "t_first",
        "t_head",
    )

    def __init__(self, buf: bytearray | None = None) -> None:
        self.buf = buf if buf is not None else bytearray()
        self.state = _HEAD
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.remaining = 0
        self.keep_alive = True
        self.t_head = 0
        self.t_first = 0

    def feed(self, data: bytes, t_ns: int) -> bool:
        """Add received bytes; True once the response is complete."""
        buf = self.buf
        buf += data
        while True:
            state = self.state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return False
                lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
                del buf[: end + 4]
                parts = lines[0].split(" ", 2)
                self.status = int(parts[1])
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self.headers = headers
                self.t_head = t_ns
                if 100 <= self.status < 200:  # an interim response: the real one follows
                    continue
                self.keep_alive = headers.get("connection", "").lower() != "close"
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self.state = _CHUNK_SIZE
                elif "content-length" in headers:
                    self.remaining = int(headers["content-length"])
                    self.state = _BODY_LEN if self.remaining else _DONE
                else:
                    self.keep_alive = False
                    self.state = _UNTIL_CLOSE
            elif state in (_BODY_LEN, _CHUNK_DATA):
                if not buf:
                    return False
                if not self.t_first:
                    self.t_first = t_ns
                take = min(len(buf), self.remaining)
                self.body += buf[:take]
                del buf[:take]
                self.remaining -= take
                if not self.remaining:
                    self.state = _DONE if state == _BODY_LEN else _CHUNK_CRLF
            elif state == _CHUNK_SIZE:
                end = buf.find(b"\r\n")
                if end < 0:
                    return False
                size = int(bytes(buf[:end]).split(b";", 1)[0].strip(), 16)
                del buf[: end + 2]
                if size:
                    self.remaining = size
                    self.state = _CHUNK_DATA
                else:
                    self.state = _TRAILERS
            elif state == _CHUNK_CRLF:
                if len(buf) < 2:
                    return False
                if buf[:2] != b"\r\n":
                    raise ValueError("malformed chunked encoding")
                del buf[:2]
                self.state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buf.find(b"\r\n")
                if end < 0:
                    return False
                empty = end == 0
                del buf[: end + 2]
                if empty:
                    self.state = _DONE
            elif state == _UNTIL_CLOSE:
                if buf:
                    if not self.t_first:
                        self.t_first = t_ns
                    self.body += buf
                    buf.clear()
                return False
            else:
                return True

    def feed_eof(self) -> bool:
        if self.state == _UNTIL_CLOSE:
            self.state = _DONE
            return True
        return self.state == _DONE


@dataclass
class Sample:
    status: int
    body: bytes
    t_send: int
    t_head: int
    t_first: int
    t_done: int


class Connection:
    """A blocking keep-alive connection; the lowest-overhead way to time one request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.leftover = bytearray()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=REQUEST_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.leftover = bytearray()
        return sock

    def roundtrip(self, request: bytes) -> Sample:
        sock = self.sock or self._connect()
        parser = ResponseParser(self.leftover)
        clock = time.perf_counter_ns
        recv = sock.recv
        t_send = clock()
        sock.sendall(request)
        while True:
            data = recv(262144)
            now = clock()
            if not data:
                if not parser.feed_eof():
                    self.close()
                    raise ConnectionError("connection closed mid-response")
                break
            if parser.feed(data, now):
                break
        self.leftover = parser.buf
        if not parser.keep_alive or (parser.state == _DONE and not data):
            self.close()
        return Sample(
            parser.status, bytes(parser.body), t_send, parser.t_head, parser.t_first or now, now
        )

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("TUTELA_DATABASE_URL", "TUTELA_CONFIG", "TUTELA_REDIS_URL"):
        env.pop(name, None)
    # tutela forwards this as x-api-key to the (local) stand-in: never a real secret.
    env["ANTHROPIC_API_KEY"] = "bench-not-a-real-key"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Child:
    """A subprocess whose stdout is read by a thread until a ready line appears."""

    def __init__(self, name: str, argv: list[str], ready: str, cwd: Path, stderr: Any) -> None:
        self.name = name
        self.lines: list[str] = []
        self._ready_text = ready
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=_child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if self._ready_text in line:
                self._ready.set()
        self._ready.set()  # EOF: wake the waiter, which then sees the exit

    def wait_ready(self, timeout: float = READY_TIMEOUT, log: Path | None = None) -> None:
        """Wait for the ready line; on failure show its output and the tail of ``log``."""
        started = time.monotonic()
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            waited = time.monotonic() - started
            tail = "\n".join(self.lines[-20:])
            if log is not None:
                with contextlib.suppress(OSError):
                    tail += "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            state = f"exited with {self.proc.returncode}" if self.proc.returncode else "not ready"
            raise RuntimeError(f"{self.name} {state} after {waited:.1f}s:\n{tail}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(2)


POLICY = """\
# Benchmark policy: the default upstream is the local stand-in; default guards stay on.
# The per-key rate limit (600 requests/minute by default) is raised so the load test
# measures the gateway, not the limiter refusing requests.
default_upstream: standin
upstreams:
  standin:
    type: anthropic
    base_url: http://127.0.0.1:{port}
guards:
  rate_limits:
    per_key: {{requests_per_minute: 100000000}}
"""


# --------------------------------------------------------------------------- statistics


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def summarize(values_ms: list[float]) -> dict[str, float]:
    values = sorted(values_ms)
    return {
        "n": len(values),
        "mean": sum(values) / len(values) if values else float("nan"),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1] if values else float("nan"),
    }


# --------------------------------------------------------------------------- 1-connection phases


@dataclass
class PathSetup:
    name: str
    port: int
    json_request: bytes
    stream_request: bytes
    conn: Connection = field(init=False)

    def __post_init__(self) -> None:
        self.conn = Connection(self.port)


def check_json(sample: Sample) -> str:
    if sample.status != 200:
        return f"HTTP {sample.status}: {sample.body[:200]!r}"
    if b'"type":"message"' not in sample.body:
        return f"unexpected body: {sample.body[:200]!r}"
    return ""


def check_stream(sample: Sample) -> str:
    if sample.status != 200:
        return f"HTTP {sample.status}: {sample.body[:200]!r}"
    if b"event: message_stop" not in sample.body:
        return f"stream did not end with message_stop: {sample.body[-200:]!r}"
    return ""


def run_interleaved(
    paths: list[PathSetup],
    stream: bool,
    warmup: int,
    count: int,
    blocks: int,
    label: str,
    deadline: float,
) -> dict[str, dict[str, list[float]]]:
    """Warm up each path, then alternate blocks of requests between them to cancel drift."""
    check = check_stream if stream else check_json
    out: dict[str, dict[str, list[float]]] = {
        p.name: {"total": [], "ttfb": [], "head": []} for p in paths
    }
    for path in paths:
        request = path.stream_request if stream else path.json_request
        for _ in range(warmup):
            sample = path.conn.roundtrip(request)
            problem = check(sample)
            if problem:
                raise RuntimeError(f"{path.name} {label} warm-up failed: {problem}")
    per_block = max(1, count // blocks)
    errors = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for block in range(blocks):
            for path in paths:
                request = path.stream_request if stream else path.json_request
                series = out[path.name]
                n = per_block if block < blocks - 1 else count - per_block * (blocks - 1)
                for _ in range(n):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{label}: time budget exhausted")
                    sample = path.conn.roundtrip(request)
                    if check(sample):
                        errors += 1
                        if errors > 10:
                            raise RuntimeError(f"{path.name} {label}: {check(sample)}")
                        continue
                    series["total"].append((sample.t_done - sample.t_send) / 1e6)
                    series["ttfb"].append((sample.t_first - sample.t_send) / 1e6)
                    series["head"].append((sample.t_head - sample.t_send) / 1e6)
            gc.collect()
            progress(f"  {label}: block {block + 1}/{blocks} done")
    finally:
        if gc_was_enabled:
            gc.enable()
    if errors:
        progress(f"  {label}: {errors} bad responses skipped")
    return out


# --------------------------------------------------------------------------- throughput


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process (all its threads) has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy (not idle, not waiting for I/O) so far."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user..steal, less idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU used by waited-for children of this process (wrk runs, once they exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def background_load(seconds: float = 1.0) -> float | None:
    """Percent of one core the machine is busy while this benchmark is idle."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    after = machine_busy_seconds()
    return None if before is None or after is None else 100.0 * (after - before) / seconds


class CpuMeter:
    """CPU use over one phase: each server, the load generator, and everything else.

    "other" is machine-wide busy time not spent in the two servers or in wrk: other
    processes on the machine plus kernel work not charged to a process (softirqs). A
    large "other" in the tutela run compared with the direct run means the machine was
    shared and the figures are noisy.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self.machine = machine_busy_seconds()
        self.children = children_cpu_seconds()
        self.t0 = time.monotonic()

    def stop(self, requests: int, load_generator_is_child: bool) -> dict[str, dict[str, float]]:
        wall = time.monotonic() - self.t0
        out: dict[str, dict[str, float]] = {}
        if wall <= 0:
            return out
        attributed = 0.0
        for name, pid in self.pids.items():
            before, after = self.start[name], cpu_seconds(pid)
            if before is None or after is None:
                continue
            used = after - before
            attributed += used
            out[name] = {
                "cpu_pct_of_one_core": 100.0 * used / wall,
                "cpu_us_per_request": 1e6 * used / requests if requests else 0.0,
            }
        if load_generator_is_child:
            used = children_cpu_seconds() - self.children
            attributed += used
            out["wrk"] = {"cpu_pct_of_one_core": 100.0 * used / wall}
        machine = machine_busy_seconds()
        if machine is not None and self.machine is not None and load_generator_is_child:
            other = max(0.0, machine - self.machine - attributed)
            out["other"] = {"cpu_pct_of_one_core": 100.0 * other / wall}
        return out


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def wrk_script(body: bytes, api_key: str) -> str:
    text = body.decode()
    if "]==]" in text:
        raise ValueError("request body cannot be quoted for Lua")
    return (
        'wrk.method = "POST"\n'
        f"wrk.body = [==[{text}]==]\n"
        'wrk.headers["content-type"] = "application/json"\n'
        'wrk.headers["accept"] = "application/json"\n'
        'wrk.headers["anthropic-version"] = "2023-06-01"\n'
        f'wrk.headers["x-api-key"] = "{api_key}"\n'
    )


def parse_wrk(output: str) -> dict[str, Any]:
    result: dict[str, Any] = {"tool": "wrk"}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise RuntimeError(f"could not parse wrk output:\n{output}")
    result["rps"] = float(match.group(1))
    match = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if match:
        result["requests"] = int(match.group(1))
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if match:
            result[f"p{pct}_ms"] = float(match.group(1)) * _WRK_UNITS[match.group(2)]
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    result["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    return result


def run_wrk(wrk: str, port: int, script: Path, duration: float, threads: int) -> dict[str, Any]:
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{CONNECTIONS}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{port}/v1/messages",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


async def _py_load(port: int, request: bytes, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    start = time.perf_counter()
    stop_at = start + duration

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(HOST, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        try:
            while time.perf_counter() < stop_at:
                parser = ResponseParser(buf)
                t0 = time.perf_counter_ns()
                writer.write(request)
                while True:
                    data = await asyncio.wait_for(reader.read(262144), REQUEST_TIMEOUT)
                    if not data:
                        raise ConnectionError("server closed the connection")
                    if parser.feed(data, 0):
                        break
                buf = parser.buf
                if time.perf_counter() > stop_at:
                    break
                if parser.status == 200:
                    latencies.append((time.perf_counter_ns() - t0) / 1e6)
                else:
                    failures += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    elapsed = min(time.perf_counter(), stop_at) - start
    values = sorted(latencies)
    return {
        "tool": "python-asyncio",
        "rps": len(values) / elapsed,
        "requests": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "non_2xx": failures,
        "socket_errors": 0,
    }


def run_python_load(port: int, request: bytes, duration: float) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_py_load(port, request, duration))
    return uvloop.run(_py_load(port, request, duration))


# --------------------------------------------------------------------------- profile


def _own(filename: str) -> str | None:
    """tutela's own source file (short name), or None for libraries and the stand-in."""
    if filename.startswith("tutela/"):
        short = filename
    elif "/tutela/" in filename:
        short = "tutela/" + filename.split("/tutela/", 1)[1]
    else:
        return None
    return None if short.startswith("tutela/testing/") else short


def _area(filename: str) -> str:
    """The library (or stdlib package) a frame belongs to: its first path component."""
    if "site-packages/" in filename:
        filename = filename.split("site-packages/", 1)[1]
    head = filename.split("/", 1)[0]
    return head.removesuffix(".py") if head else filename


def summarize_profile(raw: Path, top: int = 15) -> dict[str, Any]:
    """Read py-spy's collapsed stacks; rank tutela's own functions and whole libraries.

    Percentages are of the samples py-spy took of non-idle threads (the event loop thread
    plus the worker threads that ``asyncio.to_thread`` uses for database writes); samples
    of a pool worker blocked on its queue (which py-spy does not always see as idle) are
    dropped.
    """
    frame_re = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")
    total = idle = 0
    self_fn: collections.Counter[str] = collections.Counter()
    incl_fn: collections.Counter[str] = collections.Counter()
    self_area: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        names: list[tuple[str, str]] = []
        for frame in stack.split(";"):
            match = frame_re.match(frame)
            if match:
                names.append((match.group(1), match.group(2)))
        if not names:
            continue
        if names[-1][0] == "_worker" and names[-1][1].endswith("concurrent/futures/thread.py"):
            idle += count  # a thread-pool worker waiting on its queue, not working
            continue
        total += count
        files = {filename for _, filename in names}
        threads[
            "worker threads (to_thread)"
            if any("concurrent/futures/thread" in f for f in files)
            else "event loop thread"
        ] += count
        seen: set[str] = set()
        for func, filename in names:
            own = _own(filename)
            if own is not None:
                key = f"{func} ({own})"
                if key not in seen:
                    seen.add(key)
                    incl_fn[key] += count
        func, filename = names[-1]
        own = _own(filename)
        if own is not None:
            self_fn[f"{func} ({own})"] += count
            self_area["tutela"] += count
        else:
            self_area[_area(filename)] += count

    def pct(counter: collections.Counter[str], n: int = top) -> list[tuple[str, float]]:
        return [(k, 100.0 * v / total) for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "idle_samples_dropped": idle,
        "threads": pct(threads),
        "tutela_inclusive": pct(incl_fn, 25),
        "tutela_self": pct(self_fn),
        "self_by_area": pct(self_area),
    }


# --------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "tutela": tutela_source(),
    }


def tutela_source() -> str:
    """Where the measured tutela comes from: its directory, and the git commit if known."""
    try:
        import tutela
    except ImportError:
        return "not importable"
    where = Path(tutela.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(where)
    return f"{where} at {commit}" + (" with uncommitted changes" if dirty else "")


def fmt(value: float, digits: int = 3) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:.{digits}f}"


def build_report(results: dict[str, Any]) -> tuple[str, dict[str, float]]:
    d, t = results["direct"], results["tutela"]
    rows: list[tuple[str, str, str, str, str]] = []
    derived: dict[str, float] = {}

    def latency_row(label: str, dv: float, tv: float, key: str | None = None) -> None:
        added = tv - dv
        if key:
            derived[key] = added
        rows.append((label, fmt(dv), fmt(tv), f"{added:+.3f}", f"{tv / dv:.2f}x" if dv else "-"))

    latency_row("latency p50 (ms)", d["latency"]["p50"], t["latency"]["p50"], "added_p50_ms")
    latency_row("latency p99 (ms)", d["latency"]["p99"], t["latency"]["p99"], "added_p99_ms")
    latency_row("latency mean (ms)", d["latency"]["mean"], t["latency"]["mean"])
    latency_row("stream TTFB p50 (ms)", d["ttfb"]["p50"], t["ttfb"]["p50"], "added_ttfb_p50_ms")
    latency_row("stream TTFB p99 (ms)", d["ttfb"]["p99"], t["ttfb"]["p99"], "added_ttfb_p99_ms")
    latency_row("stream total p50 (ms)", d["stream_total"]["p50"], t["stream_total"]["p50"])
    latency_row("stream total p99 (ms)", d["stream_total"]["p99"], t["stream_total"]["p99"])
    dt_, tt = d["throughput"], t["throughput"]
    ratio = tt["rps"] / dt_["rps"] if dt_["rps"] else 0.0
    derived["throughput_ratio"] = ratio
    rows.append(
        (
            f"throughput @{CONNECTIONS} conns (req/s)",
            f"{dt_['rps']:.0f}",
            f"{tt['rps']:.0f}",
            "-",
            f"{ratio:.2f}x",
        )
    )
    for pct in ("p50", "p99"):
        if f"{pct}_ms" in dt_ and f"{pct}_ms" in tt:
            latency_row(
                f"latency {pct} @{CONNECTIONS} conns (ms)", dt_[f"{pct}_ms"], tt[f"{pct}_ms"]
            )

    header = ("metric", "direct", "through tutela", "added (ms)", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = []

    def line(cells: tuple[str, ...]) -> str:
        return (
            "| "
            + " | ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells)
            )
            + " |"
        )

    lines.append(line(header))
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines.extend(line(r) for r in rows)
    return "\n".join(lines), derived


def check_targets(derived: dict[str, float]) -> list[dict[str, Any]]:
    checks = []
    for key, (label, target, op) in TARGETS.items():
        value = derived[key]
        ok = value <= target if op == "<=" else value >= target
        checks.append(
            {"name": key, "label": label, "value": value, "target": target, "op": op, "pass": ok}
        )
    return checks


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Latency and throughput: direct to a stand-in upstream vs through tutela."
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=None,
        help="measured non-streaming requests per path (default 2000; quick 300)",
    )
    parser.add_argument(
        "--stream-requests",
        type=int,
        default=None,
        help="measured streaming requests per path (default 1000; quick 150)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="warm-up requests per path and kind (default 200; quick 50)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of each throughput run (default 10; quick 3)",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=4,
        help="alternate direct/tutela in this many blocks (default 4)",
    )
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk threads (default 1: leaves the 2 cores to the servers)",
    )
    parser.add_argument(
        "--no-wrk",
        action="store_true",
        help="use the Python load generator even when wrk is installed",
    )
    parser.add_argument("--quick", action="store_true", help="small counts for a smoke run")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument(
        "--access-log",
        metavar="FILE",
        help="keep tutela's JSON log (stderr, access log included) in FILE "
        "(default: a temporary file, deleted afterwards)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="after measuring, run one more throughput phase through tutela "
        "under py-spy and write its raw (collapsed) profile to FILE",
    )
    parser.add_argument(
        "--profile-stream",
        action="store_true",
        help="profile with streaming requests instead of JSON ones",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="tutela worker processes (tutela serve --workers; default 1)",
    )
    parser.add_argument(
        "--conversation",
        type=int,
        default=0,
        metavar="TURNS",
        help="send a coding agent's request of TURNS file-read turns (40 turns: ~170 KB) "
        "instead of the 1 KB chat request",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=900.0,
        help="abort if the whole run takes longer than this (default 900)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.requests = args.requests or (300 if quick else 2000)
    args.stream_requests = args.stream_requests or (150 if quick else 1000)
    args.warmup = args.warmup if args.warmup is not None else (50 if quick else 200)
    args.duration = args.duration or (3.0 if quick else 10.0)
    for name in ("requests", "stream_requests", "blocks", "wrk_threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.duration <= 0 or args.duration > 300:
        parser.error("--duration must be in (0, 300] seconds")
    if not 0 <= args.conversation <= 200:
        parser.error("--conversation must be within [0, 200] turns")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    deadline = time.monotonic() + args.max_seconds
    info = machine_info()
    wrk = None if args.no_wrk else shutil.which("wrk")
    progress(
        f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}; "
        f"load generator: {'wrk' if wrk else 'python asyncio'}"
    )
    idle_load = background_load()
    info["background_load_pct_of_one_core"] = idle_load
    if idle_load is not None:
        progress(
            f"background load before starting: {idle_load:.0f}% of one core"
            + (" -- the machine is not idle, expect noisy figures" if idle_load > 20 else "")
        )
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="tutela-bench-") as tmp_name:
        tmp = Path(tmp_name)
        log_path = Path(args.access_log) if args.access_log else tmp / "tutela.log"
        try:
            results = _run(args, tmp, log_path, wrk, children, deadline)
        finally:
            for child in reversed(children):
                child.stop()
        access_lines = 0
        with contextlib.suppress(OSError), log_path.open("rb") as handle:
            access_lines = sum(1 for line in handle if b'"logger":"tutela.access"' in line)
    results["access_log_lines"] = access_lines
    results["machine"] = info
    results["config"] = {
        k: getattr(args, k)
        for k in (
            "requests",
            "stream_requests",
            "warmup",
            "duration",
            "blocks",
            "wrk_threads",
            "quick",
        )
    }
    results["config"]["connections"] = CONNECTIONS
    results["config"]["request_bytes"] = len(request_body(False, args.conversation))

    table, derived = build_report(results)
    checks = check_targets(derived)
    results["derived"] = derived
    results["checks"] = checks

    cfg = results["config"]
    print()
    print(
        f"tutela gateway benchmark: {info['nproc']} cores ({info['cpu']}), Python "
        f"{info['python']}; body {cfg['request_bytes']} B, model {MODEL}, "
        f"max_tokens {MAX_TOKENS}"
    )
    print(f"tutela measured: {info['tutela']}")
    if idle_load is not None:
        print(
            f"background load before the run: {idle_load:.0f}% of one core"
            + (
                " (NOT idle: other work shared the cores; treat figures as noisy)"
                if idle_load > 20
                else ""
            )
        )
    print(
        f"1 connection: {cfg['requests']} JSON + {cfg['stream_requests']} streaming requests "
        f"per path after {cfg['warmup']} warm-up; throughput: {CONNECTIONS} connections for "
        f"{cfg['duration']:g}s with {results['direct']['throughput']['tool']}"
    )
    print()
    print(table)
    print()
    for check in checks:
        unit = "" if check["name"] == "throughput_ratio" else " ms"
        verdict = "PASS" if check["pass"] else "MISS"
        print(
            f"{verdict}  {check['label']}: {check['value']:.3f}{unit} "
            f"(target {check['op']} {check['target']:g}{unit})"
        )
    print()
    sent = results["tutela"]["requests_sent"]
    print(
        f"tutela access log: {access_lines} request lines for about {sent} requests sent "
        "(the access log was on)"
    )
    for name in ("direct", "tutela"):
        usage = results[name]["throughput"].get("cpu", {})
        if usage:
            print(
                f"server CPU in the {name} throughput run: "
                + "; ".join(
                    f"{proc} {c['cpu_pct_of_one_core']:.0f}%"
                    + (
                        f" ({c['cpu_us_per_request']:.0f} us/request)"
                        if "cpu_us_per_request" in c
                        else ""
                    )
                    for proc, c in usage.items()
                )
                + " (percent of one core)"
            )
    for name in ("direct", "tutela"):
        tp = results[name]["throughput"]
        if tp.get("non_2xx") or tp.get("socket_errors"):
            print(
                f"warning: {name} throughput run had {tp.get('non_2xx')} non-2xx responses "
                f"and {tp.get('socket_errors')} socket errors"
            )
    if "profile" in results:
        prof = results["profile"]
        print()
        print(
            f"py-spy profile of tutela under {CONNECTIONS}-connection {prof['kind']} load: "
            f"{prof['samples']} samples ({prof['idle_samples_dropped']} idle pool-worker "
            f"samples dropped), {prof['rps_under_profiler']:.0f} req/s while profiled, "
            f"raw file {prof['file']}"
        )
        print("  samples by thread: " + ", ".join(f"{n} {v:.1f}%" for n, v in prof["threads"]))
        print("  self time by area:")
        for name, share in prof["self_by_area"][:10]:
            print(f"    {share:5.1f}%  {name}")
        print("  tutela's own functions, inclusive (incl. what they call):")
        for name, share in prof["tutela_inclusive"][:20]:
            print(f"    {share:5.1f}%  {name}")
        print("  tutela's own functions, self:")
        for name, share in prof["tutela_self"][:10]:
            print(f"    {share:5.1f}%  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


def _run(
    args: argparse.Namespace,
    tmp: Path,
    log_path: Path,
    wrk: str | None,
    children: list[Child],
    deadline: float,
) -> dict[str, Any]:
    standin_port, gateway_port, admin_port = free_port(), free_port(), free_port()
    while len({standin_port, gateway_port, admin_port}) < 3:
        gateway_port, admin_port = free_port(), free_port()

    progress(f"starting the stand-in upstream on {HOST}:{standin_port}")
    standin = Child(
        "stand-in",
        [
            sys.executable,
            "-m",
            "tutela.testing.standin",
            "--host",
            HOST,
            "--port",
            str(standin_port),
        ],
        "standin listening on",
        tmp,
        subprocess.DEVNULL,
    )
    children.append(standin)
    standin.wait_ready()

    policy_file = tmp / "policy.yaml"
    policy_file.write_text(POLICY.format(port=standin_port))
    db_path = tmp / "tutela.db"
    progress(
        f"starting tutela on {HOST}:{gateway_port} (fresh SQLite DB, access log -> {log_path})"
    )
    log_handle = log_path.open("w")
    try:
        gateway = Child(
            "tutela",
            [
                sys.executable,
                "-m",
                "tutela.cli.main",
                "serve",
                "--config",
                str(policy_file),
                "--db",
                f"sqlite:///{db_path}",
                "--host",
                HOST,
                "--port",
                str(gateway_port),
                "--admin-port",
                str(admin_port),
                "--workers",
                str(args.workers),
            ],
            "tutela: gateway on http://",
            tmp,
            log_handle,
        )
    finally:
        log_handle.close()  # the child holds its own descriptor
    children.append(gateway)
    gateway.wait_ready(log=log_path)
    keys = [m.group(0) for line in gateway.lines for m in [KEY_RE.search(line)] if m]
    if not keys:
        raise RuntimeError("tutela printed no first admin key (was the database not fresh?)")
    api_key = keys[0]
    progress(f"tutela ready (pid {gateway.pid}); key {api_key[:20]}...")

    json_body = request_body(False, args.conversation)
    stream_body = request_body(True, args.conversation)
    paths = [
        PathSetup(
            "direct",
            standin_port,
            raw_request(standin_port, json_body, api_key),
            raw_request(standin_port, stream_body, api_key),
        ),
        PathSetup(
            "tutela",
            gateway_port,
            raw_request(gateway_port, json_body, api_key),
            raw_request(gateway_port, stream_body, api_key),
        ),
    ]

    # Sanity: both paths answer the same shape, so we compare like with like.
    for path in paths:
        for request, check in (
            (path.json_request, check_json),
            (path.stream_request, check_stream),
        ):
            problem = check(path.conn.roundtrip(request))
            if problem:
                raise RuntimeError(f"{path.name} sanity request failed: {problem}")
    progress("sanity requests ok on both paths")

    progress(
        f"non-streaming latency, 1 connection: {args.warmup} warm-up + {args.requests} "
        f"measured per path, {args.blocks} alternating blocks"
    )
    lat = run_interleaved(
        paths, False, args.warmup, args.requests, args.blocks, "latency", deadline
    )
    progress(
        f"streaming TTFB, 1 connection: {args.warmup} warm-up + {args.stream_requests} "
        f"measured per path"
    )
    sse = run_interleaved(
        paths, True, args.warmup, args.stream_requests, args.blocks, "stream", deadline
    )
    for path in paths:
        path.conn.close()

    results: dict[str, Any] = {}
    for path in paths:
        results[path.name] = {
            "port": path.port,
            "latency": summarize(lat[path.name]["total"]),
            "ttfb": summarize(sse[path.name]["ttfb"]),
            "stream_head": summarize(sse[path.name]["head"]),
            "stream_total": summarize(sse[path.name]["total"]),
            "requests_sent": 2 + 2 * args.warmup + args.requests + args.stream_requests,
        }

    script = tmp / "post.lua"
    script.write_text(wrk_script(json_body, api_key))
    pids = {"stand-in": standin.pid, "tutela": gateway.pid}
    for path in paths:
        if time.monotonic() + args.duration > deadline:
            raise RuntimeError("time budget exhausted before the throughput phase")
        time.sleep(1.0)  # let the previous phase's background work (audit writes) settle
        progress(f"throughput, {CONNECTIONS} connections, {args.duration:g}s: {path.name}")
        meter = CpuMeter(pids)
        if wrk:
            tp = run_wrk(wrk, path.port, script, args.duration, args.wrk_threads)
        else:
            tp = run_python_load(path.port, path.json_request, args.duration)
        tp["cpu"] = meter.stop(int(tp.get("requests", 0)), load_generator_is_child=bool(wrk))
        cpu = ", ".join(
            f"{name} {c['cpu_pct_of_one_core']:.0f}% of a core" for name, c in tp["cpu"].items()
        )
        progress(f"  {path.name}: {tp['rps']:.0f} req/s ({cpu})")
        results[path.name]["throughput"] = tp
        results[path.name]["requests_sent"] += tp.get("requests", 0)

    if args.profile:
        if args.profile_stream:
            script = tmp / "post-stream.lua"
            script.write_text(wrk_script(stream_body, api_key))
        results["profile"] = _profile(args, paths[1], gateway.pid, script, wrk, deadline)
        results["profile"]["kind"] = "stream" if args.profile_stream else "json"
        results["tutela"]["requests_sent"] += results["profile"].get("requests", 0)
    return results


def _profile(
    args: argparse.Namespace,
    path: PathSetup,
    pid: int,
    script: Path,
    wrk: str | None,
    deadline: float,
) -> dict[str, Any]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    if time.monotonic() + args.duration + 30 > deadline:
        raise RuntimeError("time budget exhausted before the profile phase")
    out = Path(args.profile)
    progress(
        f"profiling tutela (pid {pid}) with py-spy under {CONNECTIONS}-connection load "
        f"for {args.duration:g}s (figures above were taken without the profiler)"
    )
    time.sleep(1.0)
    spy = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(args.duration) + 1),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # let py-spy attach before the load starts
    if wrk:
        tp = run_wrk(wrk, path.port, script, args.duration, args.wrk_threads)
    else:
        tp = run_python_load(
            path.port,
            path.stream_request if args.profile_stream else path.json_request,
            args.duration,
        )
    try:
        _, err = spy.communicate(timeout=args.duration + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        _, err = spy.communicate(timeout=5)
    if spy.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {err.strip()}")
    summary = summarize_profile(out)
    summary["file"] = str(out)
    summary["rps_under_profiler"] = tp["rps"]
    summary["requests"] = tp.get("requests", 0)
    return summary


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)

#!/usr/bin/env python3
"""A/B several tutela variants at once: where does the added latency go?

Starts one stand-in and one tutela per variant (each with a fresh SQLite database), then
measures 1-connection non-streaming latency with the requests of all paths interleaved in
blocks (so drift on a shared machine hits every variant alike), and, unless
``--duration 0``, a 16-connection wrk run per variant with tutela's CPU per request.

A variant is policy YAML appended to the benchmark policy and/or Python code run in the
tutela process before its CLI starts (to switch off a component for the experiment,
never for production). The built-in set switches off, one at a time, the access log,
the guard pipeline and the audit/usage database writes::

    .venv/bin/python bench/ablate.py
    .venv/bin/python bench/ablate.py --variants my-variants.json --requests 4000

where ``my-variants.json`` is ``{"name": {"policy": "...", "pre": "..."}, ...}``.
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

_NO_GUARDS = (
    "import tutela.gateway as _g, tutela.pipeline as _p\n"
    "_g.default_guards = lambda policy, services: _p.Pipeline([], [])\n"
)
_NO_DB_WRITES = (
    "import tutela.store.database as _d\n"
    "_d.Store.write_batch = lambda self, *args, **kwargs: None\n"
)
_NO_ACCESS_LOG = "logging:\n  access_log: false\n"

DEFAULT_VARIANTS: dict[str, dict[str, str]] = {
    "baseline": {},
    "no-access-log": {"policy": _NO_ACCESS_LOG},
    "no-guards": {"pre": _NO_GUARDS},
    "no-db-writes": {"pre": _NO_DB_WRITES},
    "all-three-off": {"policy": _NO_ACCESS_LOG, "pre": _NO_GUARDS + _NO_DB_WRITES},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", metavar="FILE", help="variants as JSON (default: built-in)")
    parser.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="measured requests per path, 1 connection (default 3000)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=5.0,
        help="seconds of wrk per variant; 0 skips throughput (default 5)",
    )
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    args = parser.parse_args(argv)
    variants = json.loads(Path(args.variants).read_text()) if args.variants else DEFAULT_VARIANTS
    if not 1 <= len(variants) <= 8:
        parser.error("give between 1 and 8 variants")
    if args.requests < 10 or not 0 <= args.duration <= 60:
        parser.error("--requests must be >= 10 and --duration within [0, 60]")
    wrk = shutil.which("wrk")
    deadline = time.monotonic() + 900
    load = gl.background_load()
    gl.progress(f"background load before starting: {load:.0f}% of one core")
    children: list[gl.Child] = []
    out: dict[str, Any] = {"background_load": load, "variants": variants, "results": {}}
    try:
        with tempfile.TemporaryDirectory(prefix="tutela-ablate-") as tmp_name:
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
            body = gl.request_body(False)
            direct = gl.raw_request(up, body, "unused")
            paths = [gl.PathSetup("direct", up, direct, direct)]
            keys: dict[str, str] = {}
            pids: dict[str, int] = {}
            for name, variant in variants.items():
                home = tmp / f"v{len(keys)}"
                home.mkdir()
                policy = home / "policy.yaml"
                policy.write_text(gl.POLICY.format(port=up) + variant.get("policy", ""))
                code = (
                    variant.get("pre", "") + "\nimport sys\nsys.argv[0] = 'tutela'\n"
                    "from tutela.cli.main import main\nmain()\n"
                )
                port, admin = gl.free_port(), gl.free_port()
                with (home / "tutela.log").open("w") as log:
                    child = gl.Child(
                        name,
                        [
                            sys.executable,
                            "-c",
                            code,
                            "serve",
                            "--config",
                            str(policy),
                            "--db",
                            f"sqlite:///{home / 'db'}",
                            "--host",
                            gl.HOST,
                            "--port",
                            str(port),
                            "--admin-port",
                            str(admin),
                        ],
                        "tutela: gateway on http://",
                        home,
                        log,
                    )
                children.append(child)
                child.wait_ready()
                keys[name] = next(
                    m.group(0) for line in child.lines for m in [gl.KEY_RE.search(line)] if m
                )
                pids[name] = child.pid
                request = gl.raw_request(port, body, keys[name])
                paths.append(gl.PathSetup(name, port, request, request))
                gl.progress(f"variant {name!r} ready on port {port}")
            lat = gl.run_interleaved(paths, False, 300, args.requests, 10, "latency", deadline)
            for path in paths:
                path.conn.close()
                out["results"][path.name] = {"latency": gl.summarize(lat[path.name]["total"])}
            if args.duration and wrk:
                for path in paths[1:]:
                    script = tmp / f"{path.port}.lua"
                    script.write_text(gl.wrk_script(body, keys[path.name]))
                    time.sleep(1.0)
                    meter = gl.CpuMeter({"tutela": pids[path.name], "stand-in": standin.pid})
                    tp = gl.run_wrk(wrk, path.port, script, args.duration, 1)
                    tp["cpu"] = meter.stop(int(tp.get("requests", 0)), True)
                    out["results"][path.name]["throughput"] = tp
                    gl.progress(f"  {path.name}: {tp['rps']:.0f} req/s")
    finally:
        for child in reversed(children):
            child.stop()

    results = out["results"]
    base = results["direct"]["latency"]
    ref = results.get("baseline", {}).get("throughput", {}).get("cpu", {}).get("tutela", {})
    print()
    print(
        f"ablation: {args.requests} requests per path, 1 connection, interleaved; "
        f"background load {load:.0f}% of one core"
    )
    print()
    print(
        f"| {'path':<16} | p50 ms | p90 ms | p99 ms | added p50 | req/s @16 "
        f"| tutela CPU us/req | vs baseline |"
    )
    print(
        f"|{'-' * 18}|--------|--------|--------|-----------|-----------"
        f"|-------------------|-------------|"
    )
    for name, res in results.items():
        st = res["latency"]
        tp = res.get("throughput", {})
        cpu = tp.get("cpu", {}).get("tutela", {}).get("cpu_us_per_request")
        rps = f"{tp['rps']:.0f}" if tp else "-"
        delta = (
            f"{cpu - ref['cpu_us_per_request']:+.0f}"
            if cpu is not None and ref and name != "baseline"
            else "-"
        )
        print(
            f"| {name:<16} | {st['p50']:6.3f} | {st['p90']:6.3f} | {st['p99']:6.3f} "
            f"| {st['p50'] - base['p50']:+9.3f} "
            f"| {rps:>9} "
            f"| {'-' if cpu is None else f'{cpu:.0f}':>17} | {delta:>11} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

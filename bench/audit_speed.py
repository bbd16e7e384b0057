#!/usr/bin/env python3
"""Audit trail speed: sustained events per second with the hash chain on, into SQLite and
into PostgreSQL, and the gateway's added latency with audit on vs off, in one run.

1. Write throughput. A fresh database per backend; ``AuditWriter`` (the gateway's own
   writer thread, group commit, chain and checkpoints on) takes ``--events`` realistic
   ``api.request`` events from ``--producers`` concurrent producers, each waiting until
   its event is durable before submitting the next (as the gateway does per response).
   Reported: durable events/s, batch count, mean batch size; then ``tutela audit
   verify`` speed over what was written.
2. Added latency. ``bench/ablate.py`` starts one stand-in upstream and three tutelas:
   audit on (the default: each response held until its event is committed), audit on
   with ``durable_responses: false``, and the audit writer switched off (an
   experiment-only patch, never a setting); it measures 1-connection latency with
   requests interleaved in blocks.
   The issue's target: audit adds <= 0.2 ms at p50.

    .venv/bin/python bench/audit_speed.py                 # about a minute
    .venv/bin/python bench/audit_speed.py --events 5000 --requests 1000   # quicker
    .venv/bin/python bench/audit_speed.py --no-postgres   # when no PostgreSQL is at hand
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

PG_ADMIN = os.environ.get("TUTELA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_NO_AUDIT = (
    "import tutela.audit.writer as _w\n"
    "_w.AuditWriter.submit = lambda self, *args, **kwargs: None\n"
    "_w.AuditWriter.add_event = lambda self, *args, **kwargs: None\n"
)


def progress(message: str) -> None:
    print(f"[audit_speed] {message}", file=sys.stderr, flush=True)


def _event(i: int) -> Any:
    from tutela.audit.events import Actor, ApiRequest

    return ApiRequest(
        actor=Actor(kind="api_key", uid="7f3a9c2e1b4d5a60", name="bench"),
        workspace_id="ws_bench",
        outcome="ok",
        src_ip="10.0.0.7",
        request_id=f"req_tut_bench{i:010d}",
        endpoint="messages",
        model="claude-sonnet-4-6",
        stream=i % 2 == 0,
        status=200,
        upstream_status=200,
        duration_ms=812,
        usage={"input_tokens": 1200, "output_tokens": 340,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        verdicts=[{"guard": "dlp", "phase": "request", "action": "transform",
                   "reason": "pseudonymised 2 findings", "classes": ["pii.email"], "error": False}],
        dlp={"classes": {"pii.email": 2}, "actions": {"pii.email": "pseudonymise"}},
    )


async def _write(url: str, events: int, producers: int) -> dict[str, Any]:
    from tutela.audit.chain import Signer, trusted_keys, verify_store
    from tutela.audit.writer import AuditWriter
    from tutela.store.database import Store

    store = Store(url)
    store.migrate()
    signer = Signer.generate()
    writer = AuditWriter(store, signer=signer, checkpoint_every_events=1000)
    writer.start()
    counter = iter(range(events))
    bar_every = max(1, events // 10)

    async def produce() -> None:
        for i in counter:
            future = writer.submit(_event(i))
            assert future is not None
            await future
            if i % bar_every == 0:
                progress(f"  {i}/{events} events")

    started = time.perf_counter()
    await asyncio.gather(*(produce() for _ in range(producers)))
    elapsed = time.perf_counter() - started
    await writer.close()
    started = time.perf_counter()
    report = verify_store(store, trusted_keys(signer))
    verify_seconds = time.perf_counter() - started
    store.close()
    assert report.ok and report.records == events, report.problems
    return {
        "events": events,
        "producers": producers,
        "seconds": round(elapsed, 3),
        "events_per_second": round(events / elapsed),
        "batches": writer.batches,
        "mean_batch": round(events / max(1, writer.batches), 1),
        "checkpoints": writer.checkpoints,
        "verify_records_per_second": round(report.records / verify_seconds),
    }


def _postgres() -> tuple[str, str] | None:
    try:
        import psycopg

        name = "tutela_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name, PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    except Exception as exc:
        progress(f"PostgreSQL unavailable ({type(exc).__name__}); skipping it")
        return None


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--requests", type=int, default=3000,
                        help="latency requests per path (0 skips the latency part)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"write": {}}
    with tempfile.TemporaryDirectory(prefix="tutela-audit-bench-") as tmp:
        progress(f"SQLite: {args.events} events from {args.producers} producers")
        out["write"]["sqlite"] = asyncio.run(
            _write(f"sqlite:///{Path(tmp) / 'audit.db'}", args.events, args.producers)
        )
    if not args.no_postgres and (pg := _postgres()):
        try:
            progress(f"PostgreSQL: {args.events} events from {args.producers} producers")
            out["write"]["postgresql"] = asyncio.run(_write(pg[1], args.events, args.producers))
        finally:
            _drop(pg[0])
    if args.requests:
        import ablate

        variants = {
            "audit-on": {},
            "audit-not-awaited": {"policy": "audit:\n  durable_responses: false\n"},
            "audit-off": {"pre": _NO_AUDIT},
        }
        with tempfile.TemporaryDirectory() as tmp:
            spec, result = Path(tmp) / "variants.json", Path(tmp) / "result.json"
            spec.write_text(json.dumps(variants))
            ablate.main(["--variants", str(spec), "--requests", str(args.requests),
                         "--duration", "0", "--json", str(result)])
            latency = json.loads(result.read_text())["results"]
        on, off = latency["audit-on"]["latency"], latency["audit-off"]["latency"]
        lazy = latency["audit-not-awaited"]["latency"]
        out["latency"] = {
            "direct_p50_ms": latency["direct"]["latency"]["p50"],
            "audit_on_p50_ms": on["p50"],
            "audit_off_p50_ms": off["p50"],
            "audit_added_p50_ms": round(on["p50"] - off["p50"], 3),
            "audit_on_p99_ms": on["p99"],
            "audit_off_p99_ms": off["p99"],
            "audit_added_p99_ms": round(on["p99"] - off["p99"], 3),
            "not_awaited_added_p50_ms": round(lazy["p50"] - off["p50"], 3),
        }
    print()
    print("| backend | events | producers | durable events/s | batches | mean batch "
          "| checkpoints | verify records/s |")
    print("|---|---|---|---|---|---|---|---|")
    for backend, res in out["write"].items():
        print(f"| {backend} | {res['events']} | {res['producers']} | {res['events_per_second']} "
              f"| {res['batches']} | {res['mean_batch']} | {res['checkpoints']} "
              f"| {res['verify_records_per_second']} |")
    if "latency" in out:
        lat = out["latency"]
        verdict = "PASS" if lat["audit_added_p50_ms"] <= 0.2 else "MISS"
        print()
        print(f"gateway p50: audit on {lat['audit_on_p50_ms']:.3f} ms, off "
              f"{lat['audit_off_p50_ms']:.3f} ms, direct {lat['direct_p50_ms']:.3f} ms")
        print(f"audit adds {lat['audit_added_p50_ms']:+.3f} ms at p50 (target <= 0.2: {verdict}),"
              f" {lat['audit_added_p99_ms']:+.3f} ms at p99")
        print(f"with durable_responses: false (events written, responses not held): "
              f"{lat['not_awaited_added_p50_ms']:+.3f} ms at p50")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

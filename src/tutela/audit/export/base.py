"""Delivery to SIEM sinks: at least once, from each sink's cursor into the audit log.

The audit log is every sink's outbox. Each exporter remembers the last event (and the last
checkpoint) its sink accepted in ``audit_sink_cursors`` and reads onward from there, so a
restart resumes where delivery stopped and nothing is lost or skipped. A batch that fails
as a whole (the sink is down, slow or refuses our credentials) is retried with exponential
backoff and full jitter, forever: the gateway keeps serving meanwhile and the backlog is
exported as a metric. An event the sink itself rejects (a malformed-event answer) is
retried up to ``max_attempts`` times, then written to ``audit_dead_letters`` and skipped.
Sinks deduplicate by ``metadata.uid``, which is stable across retries.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from tutela import __version__
from tutela.audit.events import PRODUCT
from tutela.metrics import Metrics
from tutela.policy import ExporterSettings
from tutela.store.database import Store

log = logging.getLogger("tutela.export")


@dataclass(slots=True)
class Record:
    """One thing to deliver: an audit event, or a signed checkpoint (``seq`` 0)."""

    seq: int
    uid: str
    event: dict[str, Any]
    checkpoint_id: int = 0

    @property
    def json(self) -> bytes:
        return orjson.dumps(self.event, option=orjson.OPT_SORT_KEYS)


@dataclass(slots=True)
class Rejected:
    """A record the sink refused, and why (the sink's own words, never the event)."""

    index: int
    error: str


@dataclass(slots=True)
class Outcome:
    """What a sink did with a batch: every record not rejected was accepted."""

    rejected: list[Rejected] = field(default_factory=list)


class SinkUnavailable(Exception):
    """The whole batch failed for a reason unrelated to its content: retry it later."""


def checkpoint_event(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A signed checkpoint as the event sinks receive (OCSF Base Event, activity Other)."""
    return {
        "activity_id": 99,
        "activity_name": "Checkpoint",
        "category_uid": 0,
        "class_uid": 0,
        "class_name": "Base Event",
        "type_uid": 99,
        "severity_id": 1,
        "time": int(checkpoint["ts_ms"]),
        "metadata": {
            "uid": f"chk_{checkpoint['key_id']}_{checkpoint['seq']}_{checkpoint['ts_ms']}",
            "version": "1.8.0",
            "product": PRODUCT,
            "log_name": "audit",
            "event_code": "audit.checkpoint",
        },
        "unmapped": {
            "tutela": {
                "checkpoint": {
                    "id": int(checkpoint["id"]),
                    "seq": int(checkpoint["seq"]),
                    "head_hash": checkpoint["head_hash"],
                    "key_id": checkpoint["key_id"],
                    "signature": checkpoint["signature"],
                    "ts_ms": int(checkpoint["ts_ms"]),
                }
            }
        },
    }


class Sink(abc.ABC):
    """One destination's wire format. ``send`` raises SinkUnavailable for whole-batch
    failures and returns per-record rejections otherwise."""

    name: str

    def __init__(self, name: str, settings: ExporterSettings) -> None:
        self.name = name
        self.settings = settings

    @abc.abstractmethod
    async def send(self, records: list[Record]) -> Outcome:
        """Deliver ``records`` in order."""

    async def close(self) -> None:
        return None


def user_agent() -> str:
    return f"tutela/{__version__}"


class Exporter:
    """Moves one sink's cursor forward through the audit log."""

    def __init__(
        self,
        sink: Sink,
        store: Store,
        metrics: Metrics | None = None,
        *,
        poll_interval: float = 0.5,
    ) -> None:
        self.sink = sink
        self.store = store
        self.settings = sink.settings
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.attempts: dict[str, int] = {}
        self.delivered = 0
        self.dead = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"tutela-export-{self.sink.name}"
        )

    def wake(self) -> None:
        self._wake.set()

    async def close(self, *, drain_for: float = 0.0) -> None:
        """Stop; with ``drain_for``, first try that many seconds to deliver what is left
        (what is not delivered stays behind the cursor for the next start)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if drain_for > 0:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(drain_for):
                    while await self.step():
                        pass
        await self.sink.close()

    async def _run(self) -> None:
        backoff = self.settings.backoff_initial
        while not self._closing:
            try:
                moved = await self.step()
                backoff = self.settings.backoff_initial
            except SinkUnavailable as exc:
                self.failures += 1
                if self.metrics is not None:
                    self.metrics.export_failures.labels(self.sink.name).inc()
                log.warning(
                    "export failed; retrying",
                    extra={"sink": self.sink.name, "error": str(exc)[:200], "backoff": backoff},
                )
                await asyncio.sleep(random.uniform(0, backoff))  # noqa: S311 - jitter only
                backoff = min(max(backoff, 0.01) * 2, self.settings.backoff_max)
                continue
            except Exception as exc:  # a bug must not stop delivery for good
                self.failures += 1
                log.exception("exporter error", extra={"sink": self.sink.name, "error": str(exc)})
                await asyncio.sleep(backoff)
                continue
            if not moved:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                self._wake.clear()

    async def step(self) -> int:
        """Deliver the next batch; return how many records the cursor moved past."""
        seq, checkpoint_id = await asyncio.to_thread(self.store.sink_cursor, self.sink.name)
        batch_size = self.settings.batch_size
        rows = await asyncio.to_thread(
            self.store.search_audit, after_seq=seq, limit=batch_size, oldest_first=True
        )
        records = [Record(seq=int(r["seq"]), uid=r["uid"], event=r["event"]) for r in rows]
        checkpoints = await asyncio.to_thread(self.store.checkpoints, checkpoint_id)
        last_seq = records[-1].seq if records else seq
        for cp in checkpoints[: max(1, batch_size - len(records))]:
            if int(cp["seq"]) > last_seq:  # a checkpoint goes after the events it covers
                break
            event = checkpoint_event(cp)
            records.append(Record(0, event["metadata"]["uid"], event, int(cp["id"])))
        if self.metrics is not None:
            head = await asyncio.to_thread(self.store.chain_head)
            self.metrics.export_backlog.labels(self.sink.name).set(max(0, head[0] - seq))
        if not records:
            return 0
        outcome = await self.sink.send(records)
        dead: list[dict[str, Any]] = []
        retry_from: int | None = None
        for rejected in sorted(outcome.rejected, key=lambda r: r.index):
            record = records[rejected.index]
            attempts = self.attempts.get(record.uid, 0) + 1
            self.attempts[record.uid] = attempts
            # Even a "malformed" answer is retried: a sink's mapping or limits may be fixed
            # by its operator meanwhile. Only after max_attempts is the event set aside.
            if attempts < self.settings.max_attempts:
                retry_from = rejected.index
                break
            dead.append(
                {
                    "seq": record.seq,
                    "uid": record.uid,
                    "attempts": attempts,
                    "error": rejected.error[:500],
                }
            )
        accepted = records if retry_from is None else records[:retry_from]
        new_seq = max([seq, *(r.seq for r in accepted)])
        new_cp = max([checkpoint_id, *(r.checkpoint_id for r in accepted)])
        if retry_from is not None and retry_from == 0 and not dead:
            raise SinkUnavailable(f"sink rejected {records[0].uid}; retrying it")
        await asyncio.to_thread(self.store.set_sink_cursor, self.sink.name, new_seq, new_cp, dead)
        for record in accepted:
            self.attempts.pop(record.uid, None)
        delivered = len(accepted) - len(dead)
        self.delivered += delivered
        self.dead += len(dead)
        if self.metrics is not None:
            self.metrics.export_delivered.labels(self.sink.name).inc(delivered)
            if dead:
                self.metrics.export_dead_letters.labels(self.sink.name).inc(len(dead))
        if dead:
            log.error(
                "events dead-lettered",
                extra={"sink": self.sink.name, "count": len(dead), "error": dead[0]["error"]},
            )
        return len(accepted)

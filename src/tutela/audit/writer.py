"""The batched writer: audit events and usage records reach the database in group commits.

The gateway appends rows on the event loop (cheap) and a background task writes them every
``interval`` seconds in one transaction from a worker thread. A failed write keeps the rows
and retries, so a database hiccup delays records but does not lose them; the backlog is
bounded and its size is exported as a metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from tutela.audit.events import AuditEvent
from tutela.store.database import Store

log = logging.getLogger("tutela.audit")


class BatchWriter:
    def __init__(
        self,
        store: Store,
        *,
        interval: float = 0.05,
        max_backlog: int = 1_000_000,
        touched: Any = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.max_backlog = max_backlog
        self._usage: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self._touched_source = touched  # callable returning {key_id: last_used_at}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.written = 0
        self.failures = 0

    @property
    def backlog(self) -> int:
        return len(self._usage) + len(self._audit)

    def add_usage(self, row: dict[str, Any]) -> None:
        self._usage.append(row)

    def add_event(self, event: AuditEvent) -> None:
        self._audit.append(event.row())

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tutela-batch-writer")

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        usage, self._usage = self._usage, []
        audit, self._audit = self._audit, []
        touched: dict[str, dt.datetime] = self._touched_source() if self._touched_source else {}
        if not (usage or audit or touched):
            return
        try:
            await asyncio.to_thread(self.store.write_batch, usage, audit, touched)
            self.written += len(usage) + len(audit)
        except Exception as exc:
            self.failures += 1
            log.error(
                "batch write failed; keeping rows to retry",
                extra={"error": type(exc).__name__, "rows": len(usage) + len(audit)},
            )
            self._usage[:0] = usage
            self._audit[:0] = audit
            if self.backlog > self.max_backlog:
                dropped = self.backlog - self.max_backlog
                log.critical(
                    "audit backlog over limit; dropping oldest usage rows",
                    extra={"dropped": dropped},
                )
                del self._usage[:dropped]
            await asyncio.sleep(min(1.0, self.interval * 10))

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self.flush()
        if self.backlog:
            await self.flush()

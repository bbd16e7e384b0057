"""JSON Lines files: one OCSF event per line, appended, fsynced per batch, rotated by size
(``audit.jsonl`` -> ``audit.jsonl.1`` ... ``.N``, the oldest dropped)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from tutela.audit.export.base import Outcome, Record, Sink, SinkUnavailable


class JsonlSink(Sink):
    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.path = Path(settings.path)

    def _rotate(self) -> None:
        keep = self.settings.keep_files
        oldest = self.path.with_name(f"{self.path.name}.{keep}")
        oldest.unlink(missing_ok=True)
        for number in range(keep - 1, 0, -1):
            source = self.path.with_name(f"{self.path.name}.{number}")
            if source.exists():
                source.rename(self.path.with_name(f"{self.path.name}.{number + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))

    def _append(self, chunk: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write(self, lines: list[bytes]) -> None:
        """Append lines, rotating before a line that would take the file past the limit
        (a file holds at least one line, so an oversized event is never split or lost)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        pending: list[bytes] = []
        for line in lines:
            if size and size + len(line) > self.settings.rotate_bytes:
                if pending:
                    self._append(b"".join(pending))
                    pending = []
                self._rotate()
                size = 0
            pending.append(line)
            size += len(line)
        if pending:
            self._append(b"".join(pending))

    async def send(self, records: list[Record]) -> Outcome:
        lines = [record.json + b"\n" for record in records]
        try:
            await asyncio.to_thread(self._write, lines)
        except OSError as exc:
            raise SinkUnavailable(f"{self.name}: {self.path}: {exc.strerror}") from None
        return Outcome()

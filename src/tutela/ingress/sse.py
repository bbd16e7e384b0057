"""Splits a byte stream into server-sent events without changing a byte of them."""

from __future__ import annotations

import orjson

from tutela.guard import StreamEvent


def _event(raw: bytes) -> StreamEvent:
    name = "message"
    data_lines: list[bytes] = []
    for line in raw.splitlines():
        if line.startswith(b"data:"):
            data_lines.append(line[5:].lstrip(b" ") if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    data = None
    if data_lines:
        try:
            parsed = orjson.loads(b"\n".join(data_lines))
            data = parsed if isinstance(parsed, dict) else None
        except orjson.JSONDecodeError:
            data = None
    return StreamEvent(event=name, data=data, raw=raw)


class SseSplitter:
    """Feed chunks in any sizes; get back whole events, each with its exact bytes."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        buffer = self._buffer + chunk if self._buffer else chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        events = []
        start = 0
        while True:
            end = buffer.find(b"\n\n", start)
            if end < 0:
                break
            raw = buffer[start : end + 2]
            start = end + 2
            if raw.strip():
                events.append(_event(raw))
        self._buffer = buffer[start:]
        return events

    @property
    def pending(self) -> bytes:
        """Bytes of an event that has not ended yet."""
        return self._buffer

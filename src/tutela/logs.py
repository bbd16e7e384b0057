"""Structured JSON logs. Records carry ids, counts and outcomes, never content or keys."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: messages and tracebacks may quote request data.
            payload["exc_type"] = record.exc_info[0].__name__
        return orjson.dumps(payload, default=str).decode()


def configure(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AccessLog:
    """One JSON line per request, buffered and written in batches.

    Same shape as the other log lines (``ts``, ``level``, ``logger``, ``msg``, fields), but
    appending to a list costs a few microseconds where a ``logging`` call costs tens; the
    gateway flushes it every 50 ms and on shutdown, so at most 50 ms of lines are pending.
    """

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream
        self._lines: list[bytes] = []

    def write(self, fields: dict[str, Any]) -> None:
        now = time.time()
        stamp = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        )
        self._lines.append(
            orjson.dumps(
                {
                    "ts": stamp,
                    "level": "info",
                    "logger": "tutela.access",
                    "msg": "request",
                    **fields,
                }
            )
        )

    def flush(self) -> None:
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        stream = self._stream or sys.stderr
        data = b"\n".join(lines) + b"\n"
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode())
            stream.flush()

"""Syslog: RFC 5424 messages with octet-counting framing (RFC 6587) over TCP or TLS
(RFC 5425). The MSG is the event's OCSF JSON (UTF-8, with the BOM RFC 5424 asks for), or
a CEF line for ArcSight, QRadar and Sentinel's CommonSecurityLog.

TCP has no application-level acknowledgement: a batch counts as delivered once the
kernel accepted it, so events in flight when a connection breaks may be lost by the
network but are never skipped by tutela when the write itself fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import ssl
from typing import Any

import orjson

from tutela import __version__
from tutela.audit.export.base import Outcome, Record, Sink, SinkUnavailable

# IANA's Private Enterprise Number reserved for documentation (RFC 5612); deployments
# that own a PEN can replace it, consumers key on the SD-ID name "tutela".
SD_ID = "tutela@32473"
_SYSLOG_SEVERITY = {0: 6, 1: 6, 2: 5, 3: 4, 4: 3, 5: 2, 6: 1}
_CEF_SEVERITY = {0: 0, 1: 3, 2: 4, 3: 6, 4: 8, 5: 10, 6: 10}
_BOM = "\ufeff"


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _timestamp(ms: int) -> str:
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _printable(value: str, limit: int) -> str:
    cleaned = "".join(c if 33 <= ord(c) <= 126 else "_" for c in value)
    return cleaned[:limit] or "-"


def rfc5424(record: Record, *, facility: int, hostname: str, msg: str, bom: bool = True) -> bytes:
    event = record.event
    metadata = event.get("metadata", {})
    severity = _SYSLOG_SEVERITY.get(int(event.get("severity_id", 1)), 6)
    params = {
        "uid": record.uid,
        "seq": str(record.seq),
        "class_uid": str(event.get("class_uid", 0)),
        "type_uid": str(event.get("type_uid", 0)),
    }
    if metadata.get("tenant_uid"):
        params["workspace"] = str(metadata["tenant_uid"])
    structured = "[" + SD_ID + "".join(f' {k}="{_sd_escape(v)}"' for k, v in params.items()) + "]"
    header = (
        f"<{facility * 8 + severity}>1 {_timestamp(int(event.get('time', 0)))} "
        f"{_printable(hostname, 255)} tutela {os.getpid()} "
        f"{_printable(str(metadata.get('event_code', '-')), 32)} {structured} "
    )
    return (header + (_BOM if bom else "") + msg).encode("utf-8")


def _cef_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _cef_value(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def cef(record: Record) -> str:
    """A CEF:0 line: header fields, then key=value extensions (``cs6`` holds the OCSF JSON)."""
    event = record.event
    metadata = event.get("metadata", {})
    actor = event.get("actor", {}).get("user", {}).get("uid", "")
    severity = _CEF_SEVERITY.get(int(event.get("severity_id", 1)), 3)
    extensions: dict[str, Any] = {
        "rt": event.get("time", 0),
        "externalId": record.uid,
        "cat": event.get("class_name", ""),
        "outcome": "success" if event.get("status_id") == 1 else "failure",
        "suser": actor,
        "cn1Label": "sequence",
        "cn1": record.seq,
        "cs1Label": "workspace",
        "cs1": metadata.get("tenant_uid", ""),
        "cs6Label": "ocsf",
        "cs6": record.json.decode(),
    }
    ip = event.get("src_endpoint", {}).get("ip")
    if ip:
        extensions["src"] = ip
    header = "|".join(
        _cef_header(str(part))
        for part in (
            "CEF:0",
            "tutela",
            "tutela",
            __version__,
            event.get("type_uid", 0),
            metadata.get("event_code", ""),
            severity,
        )
    )
    body = " ".join(f"{key}={_cef_value(str(value))}" for key, value in extensions.items())
    return f"{header}|{body}"


def frame(message: bytes) -> bytes:
    """Octet counting (RFC 6587 3.4.1): the length, a space, the message."""
    return str(len(message)).encode() + b" " + message


class SyslogSink(Sink):
    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.hostname = socket.gethostname()
        self._writer: asyncio.StreamWriter | None = None

    def _ssl(self) -> ssl.SSLContext | None:
        if self.settings.transport != "tls":
            return None
        context = ssl.create_default_context(cafile=self.settings.ca_file or None)
        if not self.settings.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def render(self, record: Record) -> bytes:
        if self.settings.format == "cef":
            msg = rfc5424(
                record,
                facility=self.settings.facility,
                hostname=self.hostname,
                msg=cef(record),
                bom=False,
            )
        else:
            msg = rfc5424(
                record,
                facility=self.settings.facility,
                hostname=self.hostname,
                msg=orjson.dumps(record.event, option=orjson.OPT_SORT_KEYS).decode(),
            )
        return frame(msg)

    async def send(self, records: list[Record]) -> Outcome:
        payload = b"".join(self.render(record) for record in records)
        try:
            if self._writer is None or self._writer.is_closing():
                async with asyncio.timeout(self.settings.timeout_seconds):
                    _, self._writer = await asyncio.open_connection(
                        self.settings.host, self.settings.port, ssl=self._ssl()
                    )
            async with asyncio.timeout(self.settings.timeout_seconds):
                self._writer.write(payload)
                await self._writer.drain()
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            await self.close()
            raise SinkUnavailable(
                f"syslog {self.settings.host}:{self.settings.port}: {exc}"
            ) from None
        return Outcome()

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            try:
                async with asyncio.timeout(2):
                    await writer.wait_closed()
            except (OSError, TimeoutError, ssl.SSLError):
                pass

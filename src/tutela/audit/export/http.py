"""HTTP sinks: Splunk HEC, Elasticsearch ``_bulk``, Microsoft Sentinel (Azure Monitor Logs
Ingestion API) and signed webhooks. Each speaks its documented wire format; whole-batch
failures (connection errors, 5xx, 429, auth) raise SinkUnavailable and are retried, and
per-event rejections are reported so only those events are retried or dead-lettered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import hmac
import os
import socket
import ssl
import time
import uuid
from typing import Any

import aiohttp
import orjson

from tutela.audit.export.base import Outcome, Record, Rejected, Sink, SinkUnavailable, user_agent
from tutela.errors import ConfigError


def _secret(env: str, what: str) -> str:
    value = os.environ.get(env, "")
    if not value:
        raise ConfigError(f"{what}: environment variable {env} is not set")
    return value


class HttpSink(Sink):
    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_context: ssl.SSLContext | bool = True
            if not self.settings.verify_tls:
                ssl_context = False
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                connector=aiohttp.TCPConnector(ssl=ssl_context, limit=4),
                headers={"User-Agent": user_agent()},
            )
        return self._session

    async def post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            async with self.session().post(url, data=body, headers=headers) as response:
                return response.status, await response.read(), dict(response.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SinkUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def unavailable(name: str, status: int, body: bytes) -> SinkUnavailable:
        return SinkUnavailable(f"{name}: HTTP {status}: {body[:200].decode('utf-8', 'replace')}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class SplunkHecSink(HttpSink):
    """``POST /services/collector/event``, ``Authorization: Splunk <token>``, one JSON
    envelope per event, newline-separated. With ``ack``, each request names a channel and
    the batch counts as delivered only once ``/services/collector/ack`` says it is indexed."""

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.token = _secret(settings.token_env, f"exporter {name}")
        self.channel = str(uuid.uuid4())
        self.host = socket.gethostname()

    def envelope(self, record: Record) -> bytes:
        event = record.event
        envelope: dict[str, Any] = {
            "time": round(int(event.get("time", 0)) / 1000, 3),
            "host": self.host,
            "source": "tutela",
            "sourcetype": self.settings.sourcetype,
            "event": event,
            "fields": {
                "uid": record.uid,
                "class_uid": str(event.get("class_uid", 0)),
                "event_code": str(event.get("metadata", {}).get("event_code", "")),
            },
        }
        if self.settings.index:
            envelope["index"] = self.settings.index
        return orjson.dumps(envelope)

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Splunk {self.token}", "Content-Type": "application/json"}
        if self.settings.ack:
            headers["X-Splunk-Request-Channel"] = self.channel
        return headers

    async def send(self, records: list[Record]) -> Outcome:
        url = self.settings.url.rstrip("/") + "/services/collector/event"
        body = b"\n".join(self.envelope(r) for r in records)
        status, payload, _ = await self.post(url, body, self._headers())
        try:
            answer = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError:
            answer = {}
        if status == 400 and "invalid-event-number" in answer:
            # Events before the bad one were accepted; the bad one never will be.
            bad = int(answer["invalid-event-number"])
            return Outcome(
                [Rejected(bad, f"HEC code {answer.get('code')}: {answer.get('text')}")]
                + [
                    Rejected(i, "after a rejected event")
                    for i in range(bad + 1, len(records))
                ]
            )
        if status != 200 or answer.get("code", 0) != 0:
            raise self.unavailable(self.name, status, payload)
        if self.settings.ack:
            await self._await_ack(int(answer["ackId"]))
        return Outcome()

    async def _await_ack(self, ack_id: int) -> None:
        url = self.settings.url.rstrip("/") + "/services/collector/ack"
        deadline = time.monotonic() + self.settings.timeout_seconds * 3
        delay = 0.05
        while time.monotonic() < deadline:
            status, payload, _ = await self.post(
                url, orjson.dumps({"acks": [ack_id]}), self._headers()
            )
            if status != 200:
                raise self.unavailable(self.name, status, payload)
            if orjson.loads(payload).get("acks", {}).get(str(ack_id)) is True:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise SinkUnavailable(f"{self.name}: indexer acknowledgement {ack_id} timed out")


def ecs_document(record: Record) -> dict[str, Any]:
    """The event mapped to ECS fields, with the whole OCSF event under ``ocsf``."""
    event = record.event
    metadata = event.get("metadata", {})
    tutela = event.get("unmapped", {}).get("tutela", {})
    category = {
        3002: ["authentication"],
        3004: ["configuration", "iam"],
        3005: ["iam"],
        6003: ["web"],
        6001: ["file"],
        6005: ["database"],
        2004: ["intrusion_detection"],
    }
    doc: dict[str, Any] = {
        "@timestamp": dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "event": {
            "id": record.uid,
            "kind": "alert" if event.get("class_uid") == 2004 else "event",
            "category": category.get(int(event.get("class_uid", 0)), ["process"]),
            "action": metadata.get("event_code", ""),
            "outcome": "success" if event.get("status_id") == 1 else "failure",
            "dataset": "tutela.audit",
            "sequence": record.seq,
            "severity": event.get("severity_id", 0),
        },
        "data_stream": {"type": "logs", "dataset": "tutela.audit"},
        "ocsf": event,
    }
    user = event.get("actor", {}).get("user", {})
    if user.get("uid"):
        doc["user"] = {"id": user["uid"], "name": user.get("name"), "email": user.get("email_addr")}
    ip = event.get("src_endpoint", {}).get("ip")
    if ip:
        doc["source"] = {"ip": ip}
    if metadata.get("tenant_uid"):
        doc["organization"] = {"id": metadata["tenant_uid"]}
    if event.get("class_uid") == 6003:
        usage = tutela.get("usage", {})
        doc["gen_ai"] = {
            "provider": {"name": "anthropic"},
            "operation": {"name": event.get("api", {}).get("operation", "")},
            "request": {"model": event.get("ai_model", {}).get("name", "")},
            "usage": {
                "input_tokens": usage.get("input_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
            },
        }
        doc["http"] = {
            "response": {"status_code": event.get("api", {}).get("response", {}).get("code")}
        }
    return doc


class ElasticsearchSink(HttpSink):
    """``POST /_bulk`` NDJSON with ``create`` actions into a data stream, ``_id`` set to
    the event uid so a retried event is a 409 (already there), never a duplicate."""

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.api_key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""

    async def send(self, records: list[Record]) -> Outcome:
        lines: list[bytes] = []
        for record in records:
            lines.append(
                orjson.dumps({"create": {"_index": self.settings.data_stream, "_id": record.uid}})
            )
            lines.append(orjson.dumps(ecs_document(record)))
        body = b"\n".join(lines) + b"\n"
        headers = {"Content-Type": "application/x-ndjson"}
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        status, payload, _ = await self.post(
            self.settings.url.rstrip("/") + "/_bulk", body, headers
        )
        if status != 200:
            raise self.unavailable(self.name, status, payload)
        answer = orjson.loads(payload)
        if not answer.get("errors"):
            return Outcome()
        rejected: list[Rejected] = []
        for index, item in enumerate(answer.get("items", [])):
            result = item.get("create", {})
            code = int(result.get("status", 200))
            if code < 300 or code == 409:  # created, or already there from an earlier try
                continue
            error = result.get("error", {})
            reason = f"{code} {error.get('type', '')}: {error.get('reason', '')}"
            rejected.append(Rejected(index, reason))
        return Outcome(rejected)


class SentinelSink(HttpSink):
    """Azure Monitor Logs Ingestion API: an Entra ID client-credentials token for
    ``https://monitor.azure.com//.default``, then gzip JSON arrays of at most 1 MB to
    ``{endpoint}/dataCollectionRules/{dcr}/streams/{stream}?api-version=2023-01-01``."""

    MAX_BYTES = 1_000_000

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.client_secret = _secret(settings.client_secret_env, f"exporter {name}")
        self.token_url = settings.token_url or (
            f"https://login.microsoftonline.com/{settings.tenant_id}/oauth2/v2.0/token"
        )
        self._token = ""
        self._token_expires = 0.0

    async def token(self) -> str:
        if self._token and time.monotonic() < self._token_expires - 60:
            return self._token
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.client_secret,
            "scope": "https://monitor.azure.com//.default",
        }
        try:
            async with self.session().post(self.token_url, data=form) as response:
                payload = await response.read()
                if response.status != 200:
                    raise self.unavailable(self.name + " token", response.status, payload)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise SinkUnavailable(f"{self.name}: token: {exc}") from None
        answer = orjson.loads(payload)
        self._token = str(answer["access_token"])
        self._token_expires = time.monotonic() + float(answer.get("expires_in", 3600))
        return self._token

    @staticmethod
    def row(record: Record) -> dict[str, Any]:
        event = record.event
        metadata = event.get("metadata", {})
        return {
            "TimeGenerated": dt.datetime.fromtimestamp(int(event.get("time", 0)) / 1000, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "EventUid": record.uid,
            "EventType": metadata.get("event_code", ""),
            "ClassUid": event.get("class_uid", 0),
            "TypeUid": event.get("type_uid", 0),
            "Sequence": record.seq,
            "Workspace": metadata.get("tenant_uid", ""),
            "Actor": event.get("actor", {}).get("user", {}).get("uid", ""),
            "Outcome": "Success" if event.get("status_id") == 1 else "Failure",
            "Event": event,
        }

    def chunks(self, records: list[Record]) -> list[bytes]:
        """Gzip JSON arrays of at most 1 MB each *before* compression, so every call is
        within the limit whether the service counts compressed or uncompressed bytes."""
        out: list[bytes] = []
        batch: list[bytes] = []
        size = 2
        for row in (orjson.dumps(self.row(r)) for r in records):
            if batch and size + len(row) + 1 > self.MAX_BYTES:
                out.append(gzip.compress(b"[" + b",".join(batch) + b"]"))
                batch, size = [], 2
            batch.append(row)
            size += len(row) + 1
        if batch:
            out.append(gzip.compress(b"[" + b",".join(batch) + b"]"))
        return out

    async def send(self, records: list[Record]) -> Outcome:
        url = (
            f"{self.settings.url.rstrip('/')}/dataCollectionRules/{self.settings.dcr_immutable_id}"
            f"/streams/{self.settings.stream_name}?api-version=2023-01-01"
        )
        for body in self.chunks(records):
            headers = {
                "Authorization": f"Bearer {await self.token()}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "x-ms-client-request-id": str(uuid.uuid4()),
            }
            status, payload, _ = await self.post(url, body, headers)
            if status == 401:
                self._token = ""
            if status != 204:
                raise self.unavailable(self.name, status, payload)
        return Outcome()


class WebhookSink(HttpSink):
    """JSON ``{"events": [...]}`` with ``X-Tutela-Timestamp`` and ``X-Tutela-Signature:
    sha256=<hex HMAC-SHA256 over "<timestamp>.<body>">``, so receivers can check origin and
    refuse replays. Any 2xx accepts the batch."""

    def __init__(self, name: str, settings: Any) -> None:
        super().__init__(name, settings)
        self.secret = _secret(settings.secret_env, f"exporter {name}").encode()

    def sign(self, timestamp: str, body: bytes) -> str:
        digest = hmac.new(self.secret, timestamp.encode() + b"." + body, hashlib.sha256)
        return "sha256=" + digest.hexdigest()

    async def send(self, records: list[Record]) -> Outcome:
        body = orjson.dumps({"events": [r.event for r in records]})
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Tutela-Timestamp": timestamp,
            "X-Tutela-Signature": self.sign(timestamp, body),
        }
        status, payload, _ = await self.post(self.settings.url, body, headers)
        if not 200 <= status < 300:
            raise self.unavailable(self.name, status, payload)
        return Outcome()

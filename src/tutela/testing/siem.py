"""Local receivers that speak the SIEMs' documented wire formats, for exporter tests.

Splunk HEC, Elasticsearch ``_bulk``, the Azure Monitor Logs Ingestion API (with its Entra
ID token endpoint) and a webhook. Each checks what the real service checks (auth header,
body framing, content type and encoding, size limits), answers as it does (including
partial failures), dedupes by event uid the way an idempotent index would, and can be
told to be down or to reject chosen events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Receiver:
    """What a receiver saw: every event body received (duplicates included), by uid."""

    received: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    down_for: int = 0  # answer this many requests with 503 first
    reject_uids: set[str] = field(default_factory=set)  # refuse these events for good
    fail_once_uids: set[str] = field(default_factory=set)  # refuse these events once
    bodies: list[bytes] = field(default_factory=list)

    def uids(self) -> list[str]:
        return [event["metadata"]["uid"] for event in self.received]

    def _down(self) -> bool:
        self.requests += 1
        if self.down_for > 0:
            self.down_for -= 1
            return True
        return False


def _concatenated_json(body: bytes) -> list[Any]:
    """HEC accepts envelopes back to back, with or without newlines between them."""
    decoder = json.JSONDecoder()
    text, index, out = body.decode(), 0, []
    while index < len(text):
        while index < len(text) and text[index] in " \r\n\t":
            index += 1
        if index >= len(text):
            break
        value, index = decoder.raw_decode(text, index)
        out.append(value)
    return out


@dataclass
class SplunkHec(Receiver):
    token: str = "00000000-0000-0000-0000-000000000000"  # noqa: S105 - a test receiver
    use_ack: bool = False
    acks_pending: dict[int, int] = field(default_factory=dict)  # ackId -> polls until true
    next_ack: int = 0
    channels: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/services/collector/event", self.event)
        app.router.add_post("/services/collector/ack", self.ack)
        return app

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Splunk {self.token}"

    async def event(self, request: web.Request) -> web.Response:
        if self._down():
            return web.json_response({"text": "Server is busy", "code": 9}, status=503)
        if not self._authorized(request):
            return web.json_response({"text": "Invalid authorization", "code": 3}, status=403)
        channel = request.headers.get("X-Splunk-Request-Channel")
        if self.use_ack and not channel:
            return web.json_response({"text": "Data channel is missing", "code": 10}, status=400)
        body = await request.read()
        self.bodies.append(body)
        try:
            envelopes = _concatenated_json(body)
        except ValueError:
            return web.json_response({"text": "Invalid data format", "code": 6}, status=400)
        for index, envelope in enumerate(envelopes):
            event = envelope.get("event") if isinstance(envelope, dict) else None
            uid = event.get("metadata", {}).get("uid") if isinstance(event, dict) else None
            if event is None:
                return web.json_response(
                    {"text": "Event field is required", "code": 12, "invalid-event-number": index},
                    status=400,
                )
            if uid in self.reject_uids or uid in self.fail_once_uids:
                self.fail_once_uids.discard(uid)
                return web.json_response(
                    {"text": "Invalid data format", "code": 6, "invalid-event-number": index},
                    status=400,
                )
            self.received.append(event)
        answer: dict[str, Any] = {"text": "Success", "code": 0}
        if self.use_ack:
            assert channel is not None
            self.channels.add(channel)
            answer["ackId"] = self.next_ack
            self.acks_pending[self.next_ack] = 1  # one poll answers false, the next true
            self.next_ack += 1
        return web.json_response(answer)

    async def ack(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"text": "Invalid authorization", "code": 3}, status=403)
        if request.headers.get("X-Splunk-Request-Channel") not in self.channels:
            return web.json_response({"text": "Invalid data channel", "code": 11}, status=400)
        asked = (await request.json()).get("acks", [])
        out = {}
        for ack_id in asked:
            remaining = self.acks_pending.get(int(ack_id), 0)
            out[str(ack_id)] = remaining == 0
            if remaining:
                self.acks_pending[int(ack_id)] = remaining - 1
        return web.json_response({"acks": out})


@dataclass
class Elasticsearch(Receiver):
    api_key: str = "ZWxhc3RpYzpzZWNyZXQ="
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # _id -> source

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/_bulk", self.bulk)
        return app

    async def bulk(self, request: web.Request) -> web.Response:
        if self._down():
            return web.json_response({"error": "unavailable", "status": 503}, status=503)
        if request.headers.get("Authorization") != f"ApiKey {self.api_key}":
            return web.json_response({"error": "security_exception", "status": 401}, status=401)
        if request.content_type != "application/x-ndjson":
            return web.json_response({"error": "content type", "status": 406}, status=406)
        body = await request.read()
        if not body.endswith(b"\n"):
            return web.json_response(
                {"error": "The bulk request must be terminated by a newline [\\n]", "status": 400},
                status=400,
            )
        lines = body.decode().split("\n")[:-1]
        items, errors = [], False
        for action_line, source_line in zip(lines[0::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            meta = action.get("create")
            if meta is None:  # data streams accept only create
                items.append({"index": {"status": 400, "error": {"type": "illegal_argument_exception"}}})
                errors = True
                continue
            source = json.loads(source_line)
            uid = meta["_id"]
            if uid in self.reject_uids:
                status, error = 400, {"type": "mapper_parsing_exception", "reason": "bad field"}
            elif uid in self.fail_once_uids:
                self.fail_once_uids.discard(uid)
                status, error = 429, {"type": "es_rejected_execution_exception", "reason": "busy"}
            elif uid in self.documents:
                status, error = 409, {"type": "version_conflict_engine_exception", "reason": "exists"}
            else:
                status, error = 201, None
                self.documents[uid] = source
                self.received.append(source["ocsf"])
            item: dict[str, Any] = {"_index": meta["_index"], "_id": uid, "status": status}
            if error:
                item["error"] = error
                errors = True  # Elasticsearch reports conflicts as errors too
            items.append({"create": item})
        return web.json_response({"took": 1, "errors": errors, "items": items})


@dataclass
class Sentinel(Receiver):
    tenant: str = "tenant-1"
    client_id: str = "client-1"
    client_secret: str = "s3cret"  # noqa: S105 - a test receiver
    dcr: str = "dcr-0123456789abcdef"
    stream: str = "Custom-TutelaAudit_CL"
    issued: set[str] = field(default_factory=set)
    sizes: list[int] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post(f"/{self.tenant}/oauth2/v2.0/token", self.token)
        app.router.add_post("/dataCollectionRules/{dcr}/streams/{stream}", self.upload)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
            or form.get("scope") != "https://monitor.azure.com//.default"
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        token = hashlib.sha256(f"{len(self.issued)}".encode()).hexdigest()
        self.issued.add(token)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
        )

    async def upload(self, request: web.Request) -> web.Response:
        if self._down():
            return web.json_response({"error": {"code": "ServiceUnavailable"}}, status=503)
        if request.query.get("api-version") != "2023-01-01":
            return web.json_response({"error": {"code": "InvalidApiVersion"}}, status=400)
        if request.match_info["dcr"] != self.dcr or request.match_info["stream"] != self.stream:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.issued:
            return web.json_response({"error": {"code": "InvalidToken"}}, status=401)
        if request.headers.get("Content-Encoding") != "gzip":
            return web.json_response({"error": {"code": "UnsupportedEncoding"}}, status=415)
        body = await request.read()  # aiohttp has already gunzipped it
        self.sizes.append(len(body))
        if len(body) > 1_000_000:  # counted uncompressed: the stricter reading of the limit
            return web.json_response({"error": {"code": "ContentLengthLimitExceeded"}}, status=413)
        rows = json.loads(body)
        if not isinstance(rows, list):
            return web.json_response({"error": {"code": "InvalidPayload"}}, status=400)
        for row in rows:
            self.received.append(row["Event"])
        return web.Response(status=204)


@dataclass
class Webhook(Receiver):
    secret: bytes = b"hook-secret"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        if self._down():
            return web.Response(status=503)
        body = await request.read()
        self.bodies.append(body)
        timestamp = request.headers.get("X-Tutela-Timestamp", "")
        expected = "sha256=" + hmac.new(
            self.secret, timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Tutela-Signature", "")):
            return web.Response(status=401)
        self.received.extend(json.loads(body)["events"])
        return web.Response(status=204)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start an app on a free loopback port; returns the runner and its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def parse_rfc5424(line: bytes) -> tuple[list[str], dict[str, str], str]:
    """Split a received RFC 5424 line into header fields, the tutela SD params and MSG
    (BOM removed), undoing the SD-PARAM escapes."""
    text = line.decode("utf-8")
    header = text.split(" ", 6)  # PRI+VERSION, TIMESTAMP, HOST, APP, PROCID, MSGID, rest
    rest = header.pop()
    assert rest.startswith("["), rest[:40]
    params: dict[str, str] = {}
    index = rest.index(" ") + 1
    while rest[index] != "]":
        equals = rest.index("=", index)
        name = rest[index:equals]
        value, index = [], equals + 2
        while rest[index] != '"':
            if rest[index] == "\\":
                index += 1
            value.append(rest[index])
            index += 1
        params[name] = "".join(value)
        index += 1
        if rest[index] == " ":
            index += 1
    msg = rest[index + 2 :]
    return header, params, msg.removeprefix("\ufeff")


def parse_cef(msg: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF:0 line into its 7 header fields and its extensions, unescaped."""
    fields: list[str] = []
    current: list[str] = []
    index = 0
    while len(fields) < 7:
        char = msg[index]
        if char == "\\":
            current.append(msg[index + 1])
            index += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    extension = msg[index:]
    keys = [(m.start(1), m.group(1)) for m in _CEF_KEY.finditer(extension)]
    out: dict[str, str] = {}
    for number, (start, key) in enumerate(keys):
        last = number + 1 == len(keys)
        end = len(extension) if last else keys[number + 1][0] - 1  # the space before it
        raw = extension[start + len(key) + 1 : end]
        value, i = [], 0
        while i < len(raw):
            if raw[i] == "\\" and i + 1 < len(raw):
                value.append({"n": "\n", "r": "\r"}.get(raw[i + 1], raw[i + 1]))
                i += 2
            else:
                value.append(raw[i])
                i += 1
        out[key] = "".join(value)
    return fields, out


_CEF_KEY = re.compile(r"(?:^| )([A-Za-z0-9_]+)=")

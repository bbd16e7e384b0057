"""Reading audit events back in tests: the ``api.request`` fields under short names."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson


def request_view(data: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """An ``api.request`` OCSF event as {request_id, status, error_type, usage, verdicts,
    dlp, injection, outcome, ...}: the OCSF paths tests would otherwise spell out."""
    event = orjson.loads(data) if isinstance(data, str | bytes) else data
    api = event["api"]
    view = dict(event["unmapped"]["tutela"])
    view.update(
        request_id=api["request"]["uid"],
        status=api["response"]["code"],
        error_type=api["response"].get("error", ""),
        endpoint=api["operation"],
        model=event.get("ai_model", {}).get("name", ""),
        client_ip=event.get("src_endpoint", {}).get("ip", ""),
    )
    return view


def identity_view(row: dict[str, Any]) -> dict[str, Any]:
    """An identity audit row (sign-ins, key/member/user changes, denials) as {event_type,
    outcome, actor, workspace_id, reason, source_ip, provider, mfa, session_id, target,
    before, after}."""
    event = row.get("event") or orjson.loads(row["data"])
    actor = event.get("actor", {})
    return {
        "event_type": row["event_type"],
        "outcome": row["outcome"],
        "actor": row["actor"],
        "workspace_id": row["workspace_id"],
        "reason": event.get("status_detail", ""),
        "source_ip": event.get("src_endpoint", {}).get("ip", ""),
        "provider": actor.get("idp", {}).get("name", ""),
        "mfa": event.get("is_mfa"),
        "session_id": actor.get("session", {}).get("uid", ""),
        "target": event.get("entity", {}).get("uid", ""),
        "before": event.get("entity", {}).get("data"),
        "after": event.get("entity_result", {}).get("data"),
    }


def wait_for_request_event(db_url: str, request_id: str, timeout: float = 5.0) -> dict[str, Any]:
    """The ``request_view`` of a request's event in a gateway's SQLite database, waiting
    for the writer to commit it (events reach the database a few ms after the answer)."""
    db = db_url.removeprefix("sqlite:///")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT data FROM audit_events WHERE event_type = 'api.request' AND data LIKE ?",
                (f"%{request_id}%",),
            ).fetchone()
        if row is not None:
            return request_view(row[0])
        time.sleep(0.05)
    raise AssertionError(f"no audit event for {request_id}")

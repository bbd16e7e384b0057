"""Reading audit events back in tests: the ``api.request`` fields under short names."""

from __future__ import annotations

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

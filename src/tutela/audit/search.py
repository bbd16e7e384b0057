"""Audit search and export, shared by ``tutela audit`` and the admin API: parsing time
filters and rendering exports (JSON Lines of OCSF events, or CSV with the event as JSON)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import Any

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
CSV_COLUMNS = ("seq", "time", "event_type", "class_uid", "workspace_id", "actor", "outcome", "uid")
FILTERS = ("since", "until", "event_type", "actor", "key", "class", "request_id")


def parse_when(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time (UTC when no offset is given) or an age: ``15m``, ``24h``, ``7d``."""
    if not text:
        return None
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{_UNITS[unit]: amount})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO 8601 time nor an age like 24h or 7d") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def search_filters(given: Mapping[str, Any]) -> dict[str, Any]:
    """``Store.search_audit`` keyword arguments from filter values (``key`` and ``actor``
    both select the actor; ``class`` a class found)."""
    out: dict[str, Any] = {
        "since": parse_when(given.get("since")),
        "until": parse_when(given.get("until")),
        "event_type": given.get("event_type") or None,
        "actor": given.get("key") or given.get("actor") or None,
        "finding_class": given.get("class") or given.get("finding_class") or None,
        "request_id": given.get("request_id") or None,
    }
    return {k: v for k, v in out.items() if v is not None}


def shown(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Filters as the export event records them."""
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in filters.items()}


def render_export(rows: list[dict[str, Any]], fmt: str) -> str:
    buffer = io.StringIO()
    if fmt == "jsonl":
        for row in rows:
            buffer.write(row["data"] + "\n")
        return buffer.getvalue()
    writer = csv.writer(buffer)
    writer.writerow([*CSV_COLUMNS, "event"])
    for row in rows:
        writer.writerow(
            [
                row["seq"],
                row["ts"].isoformat(),
                row["event_type"],
                row["class_uid"],
                row["workspace_id"] or "",
                row["actor"],
                row["outcome"],
                row["uid"],
                row["data"],
            ]
        )
    return buffer.getvalue()

"""Output checks: tool calls against an allow-list and schemas, links that exfiltrate data.

A model that read an injection may try to act on it: call a tool it should not, pass
arguments outside their schema, or smuggle data out in a URL the client will fetch (a
markdown image loads with no click). These functions find such outputs; the ``output``
guard decides what to do. ``validate`` implements the JSON Schema keywords tool schemas
use (type, properties, required, additionalProperties, items, enum, const, minimum,
maximum, minLength, maxLength, pattern, minItems, maxItems); unknown keywords are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LinkHit", "exfiltrating_links", "validate"]

# ![alt](url) and [text](url), then bare URLs.
_MARKDOWN = re.compile(r"(!?)\[[^\]\n]{0,500}\]\(\s*<?(https?://[^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_BARE = re.compile(r"(?<![(<\[])\bhttps?://[^\s)<>\]\"']+")
_HTML_IMG = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?(https?://[^\s\"'>]+)", re.I)
_LONG_SEGMENT = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkHit:
    """A URL to a domain that is not allowed and carries data. Holds the host, not the URL."""

    kind: str  # "image" or "link"
    host: str
    start: int
    end: int


def _allowed(host: str, domains: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(
        host == d or host.endswith("." + d) for d in (x.lower().lstrip(".") for x in domains)
    )


def _carries_data(url: str) -> bool:
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return True
    return any(len(segment) >= _LONG_SEGMENT for segment in parts.path.split("/"))


def exfiltrating_links(text: str, allowed_domains: Sequence[str]) -> Iterator[LinkHit]:
    """Images and links in ``text`` to non-allowed domains whose URL carries data."""
    seen: set[int] = set()
    candidates: list[tuple[str, str, int, int]] = []
    for match in _MARKDOWN.finditer(text):
        kind = "image" if match.group(1) else "link"
        candidates.append((kind, match.group(2), match.start(), match.end()))
        seen.add(match.start(2))
    for match in _HTML_IMG.finditer(text):
        candidates.append(("image", match.group(1), match.start(), match.end()))
        seen.add(match.start(1))
    for match in _BARE.finditer(text):
        if match.start() not in seen:
            candidates.append(("link", match.group(), match.start(), match.end()))
    for kind, url, start, end in candidates:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        if host and not _allowed(host, allowed_domains) and _carries_data(url):
            yield LinkHit(kind=kind, host=host, start=start, end=end)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Problems of ``value`` against ``schema``: JSON pointers and keywords, never values."""
    where = path or "/"
    problems: list[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, k) for k in kinds):
            return [f"{where}: type"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: enum")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: const")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            problems.append(f"{where}: maxLength")
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: minLength")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and re.search(pattern, value) is None:
            problems.append(f"{where}: pattern")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: minimum")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: maximum")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                problems.append(f"{where}: required {name}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            child = f"{path}/{name}"
            if name in properties:
                problems += validate(item, properties[name], child)
            elif extra is False:
                problems.append(f"{child}: additionalProperties")
            elif isinstance(extra, dict):
                problems += validate(item, extra, child)
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{where}: maxItems")
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: minItems")
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                problems += validate(item, items, f"{path}/{i}")
    return problems

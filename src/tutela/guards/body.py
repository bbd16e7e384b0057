"""Editing a request body in place of a copy: what guards that rewrite text share."""

from __future__ import annotations

from typing import Any

KeyPath = tuple[str | int, ...]


def set_path(root: dict[str, Any], path: KeyPath, value: Any, copied: set[int]) -> None:
    """``root[path] = value``, copying each container on the way the first time, so the
    caller's original body (still used for the audit and for retries) is never changed."""
    node: Any = root
    for key in path[:-1]:
        child = node[key]
        if id(child) not in copied:
            child = dict(child) if isinstance(child, dict) else list(child)
            copied.add(id(child))
            node[key] = child
        node = child
    node[path[-1]] = value

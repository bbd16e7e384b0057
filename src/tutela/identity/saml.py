"""SAML 2.0 service provider (placeholder until the next commit)."""

from __future__ import annotations

from typing import Any


class SamlError(Exception):
    def __init__(self, reason: str, actor: str = "unknown") -> None:
        super().__init__(reason)
        self.actor = actor


def service_provider(gateway: Any, name: str, base_url: str) -> Any:
    from tutela.admin.http import HttpError

    raise HttpError(404, "not_found", f"no SAML provider named {name!r}")

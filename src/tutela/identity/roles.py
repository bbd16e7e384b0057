"""Built-in roles and the named permissions they grant."""

from __future__ import annotations

MESSAGES_CREATE = "messages.create"
MODELS_READ = "models.read"
AUDIT_READ = "audit.read"
KEYS_MANAGE = "keys.manage"
WORKSPACE_MANAGE = "workspace.manage"

ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({MESSAGES_CREATE, MODELS_READ, AUDIT_READ, KEYS_MANAGE, WORKSPACE_MANAGE}),
    "analyst": frozenset({MESSAGES_CREATE, MODELS_READ}),
    "viewer": frozenset({AUDIT_READ}),
}


def permits(role: str, permission: str) -> bool:
    return permission in ROLES.get(role, frozenset())

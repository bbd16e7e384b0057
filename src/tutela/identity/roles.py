"""Roles and the named permissions they grant: built-in, plus custom roles from policy.

Workspace roles (admin, analyst, viewer, and custom ones) grant permissions inside one
workspace. ``owner`` is the organisation-level role: every permission in every workspace,
and the ``org.*`` permissions that manage workspaces themselves. A role may only hand out
roles whose permissions it holds itself (``may_grant``): no path from an Analyst to an
Admin key.
"""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES_CREATE = "messages.create"
MODELS_READ = "models.read"
AUDIT_READ = "audit.read"
KEYS_READ = "keys.read"
KEYS_MANAGE = "keys.manage"
MEMBERS_READ = "members.read"
MEMBERS_MANAGE = "members.manage"
WORKSPACE_MANAGE = "workspace.manage"
CONTENT_READ = "content.read"
ORG_READ = "org.read"
ORG_MANAGE = "org.manage"

PERMISSIONS: dict[str, str] = {
    MESSAGES_CREATE: "send requests to Claude (POST /v1/messages, count_tokens)",
    MODELS_READ: "list models (GET /v1/models)",
    AUDIT_READ: "read the workspace's audit events",
    KEYS_READ: "list the workspace's API keys (never their secrets)",
    KEYS_MANAGE: "create, rotate and revoke the workspace's API keys",
    MEMBERS_READ: "list the workspace's members and their roles",
    MEMBERS_MANAGE: "add and remove members, change their roles",
    WORKSPACE_MANAGE: "change the workspace's settings",
    CONTENT_READ: "decrypt the workspace's logged prompts and responses (each read is audited)",
    ORG_READ: "list every workspace",
    ORG_MANAGE: "create workspaces and appoint owners",
}

_WORKSPACE_PERMISSIONS = frozenset(p for p in PERMISSIONS if not p.startswith("org."))

OWNER = "owner"

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    OWNER: frozenset(PERMISSIONS),
    # Reading logged content is granted explicitly (owner, or a custom role), never by
    # default to workspace admins: it is the one permission that reveals prompt text.
    "admin": _WORKSPACE_PERMISSIONS - {CONTENT_READ},
    "analyst": frozenset({MESSAGES_CREATE, MODELS_READ}),
    "viewer": frozenset({AUDIT_READ}),
}

ROLES = BUILTIN_ROLES  # the built-in table, for callers without a policy


class Roles:
    """The role table in force: the built-ins plus the policy's custom roles."""

    def __init__(self, custom: Mapping[str, frozenset[str]] | None = None) -> None:
        table = dict(BUILTIN_ROLES)
        for name, permissions in (custom or {}).items():
            if name in BUILTIN_ROLES:
                raise ValueError(f"role {name!r} is built in")
            unknown = set(permissions) - set(PERMISSIONS)
            if unknown:
                raise ValueError(f"role {name!r} names unknown permissions {sorted(unknown)}")
            # custom roles are workspace roles: they can never carry org permissions
            table[name] = frozenset(permissions) & _WORKSPACE_PERMISSIONS
        self.table = table

    @classmethod
    def from_policy(cls, policy: object) -> Roles:
        custom = getattr(policy, "roles", {}) or {}
        return cls({name: frozenset(role.permissions) for name, role in custom.items()})

    def __contains__(self, role: object) -> bool:
        return role in self.table

    def names(self) -> list[str]:
        return sorted(self.table)

    def permissions(self, role: str | None) -> frozenset[str]:
        return self.table.get(role or "", frozenset())

    def permits(self, role: str | None, permission: str) -> bool:
        return permission in self.permissions(role)

    def may_grant(self, granter: str | None, role: str) -> bool:
        """True when ``granter`` holds every permission of ``role`` (and ``role`` exists).
        Only an owner may make an owner."""
        if role not in self.table:
            return False
        if role == OWNER:
            return granter == OWNER
        return self.permissions(role) <= self.permissions(granter)

    def strongest(self, roles: list[str]) -> str | None:
        """The role with the most permissions among ``roles`` (ties: by name, for stability)."""
        known = [r for r in roles if r in self.table]
        if not known:
            return None
        return max(sorted(known), key=lambda r: len(self.table[r]))


_BUILTIN = Roles()


def permits(role: str, permission: str) -> bool:
    """Built-in roles only; the gateway uses its policy's ``Roles`` table."""
    return _BUILTIN.permits(role, permission)

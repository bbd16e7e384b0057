"""The role table: built-ins, custom roles, and the no-escalation rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tutela.identity.roles import BUILTIN_ROLES, PERMISSIONS, Roles

ROLES = Roles({
    "auditor": frozenset({"audit.read", "keys.read"}),
    "key_manager": frozenset({"keys.read", "keys.manage"}),
})


@pytest.mark.parametrize(
    ("granter", "role", "allowed"),
    [
        ("owner", "owner", True),
        ("admin", "owner", False),
        ("admin", "admin", True),
        ("admin", "auditor", True),
        ("analyst", "admin", False),
        ("analyst", "analyst", True),
        ("viewer", "analyst", False),
        ("key_manager", "analyst", False),
        ("key_manager", "key_manager", True),
        ("auditor", "viewer", True),
        (None, "viewer", False),
        ("admin", "nonexistent", False),
    ],
)
def test_may_grant(granter: str | None, role: str, allowed: bool) -> None:
    assert ROLES.may_grant(granter, role) is allowed


@given(granter=st.sampled_from([*ROLES.names(), None]), role=st.sampled_from(ROLES.names()))
def test_nobody_grants_a_permission_they_lack(granter: str | None, role: str) -> None:
    if ROLES.may_grant(granter, role):
        assert ROLES.permissions(role) <= ROLES.permissions(granter)


def test_strongest_and_unknown_roles() -> None:
    assert ROLES.strongest(["viewer", "admin", "analyst"]) == "admin"
    assert ROLES.strongest(["ghost"]) is None
    assert not ROLES.permits("ghost", "audit.read")
    assert ROLES.permits("owner", "org.manage") and not ROLES.permits("admin", "org.manage")


def test_custom_roles_cannot_shadow_builtins_or_name_unknown_permissions() -> None:
    with pytest.raises(ValueError, match="built in"):
        Roles({"admin": frozenset()})
    with pytest.raises(ValueError, match="unknown"):
        Roles({"x": frozenset({"root"})})
    # admin holds every workspace permission but reading logged content, granted apart
    assert set(BUILTIN_ROLES["admin"]) | {"org.read", "org.manage", "content.read"} == set(
        PERMISSIONS
    )
    assert "content.read" in BUILTIN_ROLES["owner"]


def test_policy_validates_roles_and_mappings() -> None:
    from tutela.errors import ConfigError
    from tutela.policy import parse_policy

    with pytest.raises(ConfigError, match="unknown"):
        parse_policy("roles:\n  x: {permissions: [root]}\n")
    with pytest.raises(ConfigError, match="built-in"):
        parse_policy("roles:\n  viewer: {permissions: [audit.read]}\n")
    with pytest.raises(ConfigError, match="owner_groups"):
        parse_policy("sso:\n  role_mapping:\n    default: {groups: {g: owner}}\n")
    policy = parse_policy("roles:\n  auditor: {permissions: [audit.read]}\n"
                          "sso:\n  role_mapping:\n    default: {groups: {g: auditor}}\n")
    assert Roles.from_policy(policy).permits("auditor", "audit.read")

"""Every admin route declares a permission, and the authorisation matrix holds exactly:
every route x every kind of caller, including other workspaces, revoked and expired keys."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutela.admin.app import ROUTES
from tutela.admin.routes import PUBLIC, SIGNED_IN
from tutela.identity.api_keys import parse_key
from tutela.identity.roles import BUILTIN_ROLES, PERMISSIONS, Roles

from .conftest import CALLERS, World

# The only routes anyone may call without credentials: health, metrics, and sign-in itself.
PUBLIC_ROUTES = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
    ("GET", "/admin/v1/openapi.json"), ("GET", "/sso/providers"),
    ("GET", "/sso/oidc/{provider}/login"), ("GET", "/sso/oidc/{provider}/callback"),
    ("GET", "/sso/saml/{provider}/metadata"), ("GET", "/sso/saml/{provider}/login"),
    ("POST", "/sso/saml/{provider}/acs"), ("POST", "/sso/break-glass"),
    ("GET", "/sso/device"), ("POST", "/sso/device"),
}

LIVE = {"owner", "admin", "analyst", "viewer", "auditor", "key_manager", "admin_session",
        "other_admin"}
A_ADMINS = {"owner", "admin", "admin_session"}

# route -> callers allowed (for workspace routes: acting on workspace "a")
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/admin/v1/me"): LIVE,
    ("GET", "/admin/v1/roles"): LIVE,
    ("POST", "/sso/logout"): LIVE,
    ("GET", "/admin/v1/workspaces"): {"owner"},
    ("POST", "/admin/v1/workspaces"): {"owner"},
    ("GET", "/admin/v1/users"): {"owner"},
    ("PUT", "/admin/v1/users/{email}"): {"owner"},
    ("GET", "/admin/v1/workspaces/{workspace}/keys"): A_ADMINS | {"auditor", "key_manager"},
    ("POST", "/admin/v1/workspaces/{workspace}/keys"): A_ADMINS | {"key_manager"},
    ("POST", "/admin/v1/workspaces/{workspace}/keys/{key_id}/rotate"): A_ADMINS | {"key_manager"},
    ("POST", "/admin/v1/workspaces/{workspace}/keys/{key_id}/revoke"): A_ADMINS | {"key_manager"},
    ("GET", "/admin/v1/workspaces/{workspace}/members"): A_ADMINS | {"auditor"},
    ("PUT", "/admin/v1/workspaces/{workspace}/members/{email}"): A_ADMINS,
    ("DELETE", "/admin/v1/workspaces/{workspace}/members/{email}"): A_ADMINS,
    ("GET", "/admin/v1/workspaces/{workspace}/audit"): A_ADMINS | {"viewer", "auditor"},
    ("GET", "/admin/v1/workspaces/{workspace}/audit/export"): A_ADMINS | {"viewer", "auditor"},
    # content.read is never a default admin permission: only the owner holds it here
    ("GET", "/admin/v1/workspaces/{workspace}/audit/content/{request_id}"): {"owner"},
}


def test_every_route_declares_a_known_permission() -> None:
    for route in ROUTES:
        assert route.permission in PERMISSIONS or route.permission in (PUBLIC, SIGNED_IN), route
        if route.permission == PUBLIC:
            assert (route.method, route.pattern) in PUBLIC_ROUTES, f"unexpected public {route}"
        else:
            assert (route.method, route.pattern) in EXPECTED, f"no matrix row for {route}"
    assert {(r.method, r.pattern) for r in ROUTES} == PUBLIC_ROUTES | set(EXPECTED)


def test_owner_holds_every_permission_and_custom_roles_never_org_ones() -> None:
    assert BUILTIN_ROLES["owner"] == frozenset(PERMISSIONS)
    roles = Roles({"sneaky": frozenset({"keys.read", "org.manage"})})
    assert roles.permissions("sneaky") == {"keys.read"}


async def _request(world: World, method: str, pattern: str, who: str, workspace: str = "a"):  # type: ignore[no-untyped-def]
    from tutela.identity.api_keys import parse_key

    target = world.key(workspace, "key_manager")  # the weakest role every key-manager outranks

    key_id = parse_key(target)[0]  # type: ignore[index]
    path = (
        pattern.replace("{workspace}", workspace)
        .replace("{key_id}", key_id)
        .replace("{email}", "member@example.com")
    )
    body: object = None
    if "{email}" in pattern:
        world.identity.upsert_user(email="member@example.com")
    if "members/{email}" in pattern and method == "DELETE":
        identity = world.identity
        user, _ = identity.upsert_user(email="member@example.com")
        space = world.store.get_workspace(workspace)
        identity.set_membership(user.id, space.id, "analyst", "manual")  # type: ignore[union-attr]
    if method in ("POST", "PUT"):
        body = {"role": "viewer" if "members" in pattern else "analyst", "name": "n"}
        if "users" in pattern:
            body = {"disabled": False}
        if pattern == "/admin/v1/workspaces":
            body = {"name": f"ws-{who.replace('_', '-')}"}
    if pattern.endswith("/keys") and method == "POST" and who == "key_manager":
        body = {"role": "key_manager"}  # a key manager may mint only its own level
    return await world.call(method, path, who, body)


@pytest.mark.parametrize(("method", "pattern"), sorted(EXPECTED))
async def test_authorisation_matrix(world: World, method: str, pattern: str) -> None:
    allowed = set()
    for who in CALLERS:
        response = await _request(world, method, pattern, who)
        assert response.status < 500, (who, response.body)
        if response.status not in (401, 403):
            allowed.add(who)
        else:
            assert world.creds[who].encode() not in response.body
    assert allowed == EXPECTED[(method, pattern)]


@pytest.mark.parametrize(("method", "pattern"), sorted(EXPECTED))
async def test_no_credentials_is_401(world: World, method: str, pattern: str) -> None:
    path = re.sub(r"\{\w+\}", "x", pattern)
    assert (await world.call(method, path)).status == 401


@pytest.mark.parametrize(("method", "pattern"), sorted(p for p in EXPECTED if "{workspace}" in p[1]))
async def test_nobody_in_a_reaches_b(world: World, method: str, pattern: str) -> None:
    for who in ("admin", "admin_session", "key_manager", "auditor", "viewer"):
        response = await _request(world, method, pattern, who, workspace="b")
        assert response.status == 403, (who, response.body)
    # and a workspace that does not exist looks the same as one you cannot see
    missing = await world.call("GET", "/admin/v1/workspaces/zz/keys", "admin")
    assert missing.status == 403


ESCALATION_ROLES = ["admin", "analyst", "viewer", "auditor", "key_manager", "owner", "root"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    who=st.sampled_from(["analyst", "viewer", "auditor", "key_manager", "other_admin", "admin"]),
    role=st.sampled_from(ESCALATION_ROLES),
    workspace=st.sampled_from(["a", "b"]),
    action=st.sampled_from(["key", "member"]),
)
async def test_no_caller_mints_or_grants_above_its_own_role(
    world: World, who: str, role: str, workspace: str, action: str
) -> None:
    before_keys = {k.id for k in world.store.list_keys()}
    if action == "key":
        response = await world.call(
            "POST", f"/admin/v1/workspaces/{workspace}/keys", who, {"role": role}
        )
    else:
        response = await world.call(
            "PUT", f"/admin/v1/workspaces/{workspace}/members/x@example.com", who, {"role": role}
        )
    caller = world.store.find_key(parse_key(world.creds[who])[0])  # type: ignore[index]
    assert caller is not None
    roles = world.gateway.roles
    needed = "keys.manage" if action == "key" else "members.manage"
    may = (
        caller.workspace == workspace
        and roles.permits(caller.role, needed)
        and role in roles and role != "owner"
        and roles.may_grant(caller.role, role)
    )
    if may:
        assert response.status in (200, 201), response.body
    else:
        assert response.status in (400, 403), response.body
        if action == "key":
            assert {k.id for k in world.store.list_keys()} == before_keys


async def test_a_key_manager_cannot_rotate_or_revoke_a_stronger_key(world: World) -> None:
    admin_id = parse_key(world.creds["admin"])[0]  # type: ignore[index]
    for verb in ("rotate", "revoke"):
        response = await world.call(
            "POST", f"/admin/v1/workspaces/a/keys/{admin_id}/{verb}", "key_manager", {}
        )
        assert response.status == 403 and b"cannot" in response.body
    assert world.store.find_key(admin_id).revoked_at is None  # type: ignore[union-attr]

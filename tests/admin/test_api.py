"""The admin API's behaviour: keys shown once and rotated with an overlap, revocation at
once, members with before/after audit, workspace-scoped audit, sessions and sign-out."""

from __future__ import annotations

import orjson
import pyotp

from tutela.identity import break_glass
from tutela.identity.api_keys import parse_key
from tutela.testing.audit import identity_view

from .conftest import World


def events(world: World, event_type: str) -> list[dict]:  # type: ignore[type-arg]
    rows = world.store.audit_events(event_type)
    return [{**row, "data": identity_view(row)} for row in rows]


async def test_a_key_is_shown_once_and_never_listed_or_audited(world: World) -> None:
    created = await world.call("POST", "/admin/v1/workspaces/a/keys", "admin",
                               {"role": "analyst", "name": "ci", "expires_in_days": 30})
    assert created.status == 201
    secret = orjson.loads(created.body)["key"]
    assert parse_key(secret) is not None
    listing = await world.call("GET", "/admin/v1/workspaces/a/keys", "admin")
    assert secret.encode() not in listing.body
    mine = next(k for k in orjson.loads(listing.body) if k["name"] == "ci")
    assert mine["state"] == "active" and mine["expires_at"] and mine["rotation_overdue"] is False
    [event] = [e for e in events(world, "api_key.created") if e["data"]["target"] == mine["id"]]
    assert event["actor"] == parse_key(world.creds["admin"])[0]  # type: ignore[index]
    assert event["data"]["source_ip"] == "127.0.0.1"
    assert secret not in str(world.store.audit_events())
    assert parse_key(secret)[1] not in str(world.store.audit_events())  # type: ignore[index]


async def test_rotation_over_the_api_keeps_the_old_key_for_the_overlap(world: World) -> None:
    auth = world.gateway.authenticator
    auth.ttl = 0.0
    old = world.key("a", "analyst", name="svc")
    old_id = parse_key(old)[0]  # type: ignore[index]
    rotated = await world.call(
        "POST", f"/admin/v1/workspaces/a/keys/{old_id}/rotate", "admin", {"overlap_hours": 1}
    )
    assert rotated.status == 201, rotated.body
    result = orjson.loads(rotated.body)
    new = result["new"]["key"]
    assert result["old"]["replaced_by"] == result["new"]["id"]
    assert await auth.authenticate(old) is not None  # inside the overlap
    assert await auth.authenticate(new) is not None
    again = await world.call("POST", f"/admin/v1/workspaces/a/keys/{old_id}/rotate", "admin", {})
    assert again.status == 409
    too_long = await world.call(
        "POST", f"/admin/v1/workspaces/a/keys/{result['new']['id']}/rotate", "admin",
        {"overlap_hours": 10_000},
    )
    assert too_long.status == 400
    now = await world.call(
        "POST", f"/admin/v1/workspaces/a/keys/{result['new']['id']}/rotate", "admin",
        {"overlap_hours": 0},
    )
    assert now.status == 201
    assert await auth.authenticate(new) is None  # overlap over: refused
    [event] = [e for e in events(world, "api_key.rotated") if e["data"]["target"] == old_id]
    assert event["data"]["before"]["replaced_by"] is None
    assert event["data"]["after"]["replaced_by"] == result["new"]["id"]


async def test_revocation_over_the_api_is_immediate_here(world: World) -> None:
    key = world.key("a", "analyst")
    key_id = parse_key(key)[0]  # type: ignore[index]
    assert await world.gateway.authenticator.authenticate(key) is not None  # now cached
    revoked = await world.call("POST", f"/admin/v1/workspaces/a/keys/{key_id}/revoke", "admin")
    assert revoked.status == 200 and orjson.loads(revoked.body)["revoked_at"]
    assert await world.gateway.authenticator.authenticate(key) is None
    # the same key id under another workspace's path is not found, and not touched
    other = world.key("b", "analyst")
    other_id = parse_key(other)[0]  # type: ignore[index]
    assert (await world.call("POST", f"/admin/v1/workspaces/a/keys/{other_id}/revoke",
                             "admin")).status == 404
    assert world.store.find_key(other_id).revoked_at is None  # type: ignore[union-attr]


async def test_members_changes_are_audited_with_before_and_after(world: World) -> None:
    put = await world.call("PUT", "/admin/v1/workspaces/a/members/Bob@Example.com",
                           "admin_session", {"role": "viewer"})
    assert put.status == 201
    change = await world.call("PUT", "/admin/v1/workspaces/a/members/bob@example.com",
                              "admin_session", {"role": "analyst"})
    assert change.status == 200
    members = orjson.loads((await world.call("GET", "/admin/v1/workspaces/a/members",
                                             "admin")).body)
    assert {m["email"]: m["role"] for m in members}["bob@example.com"] == "analyst"
    [changed] = events(world, "member.changed")
    assert changed["actor"] == "ada@example.com"
    assert changed["data"]["before"]["role"] == "viewer"
    assert changed["data"]["after"]["role"] == "analyst"
    gone = await world.call("DELETE", "/admin/v1/workspaces/a/members/bob@example.com", "admin")
    assert gone.status == 200 and events(world, "member.removed")


async def test_audit_view_shows_only_the_workspace(world: World) -> None:
    await world.call("POST", "/admin/v1/workspaces/a/keys", "admin", {"role": "viewer"})
    await world.call("POST", "/admin/v1/workspaces/b/keys", "other_admin", {"role": "viewer"})
    a = world.store.get_workspace("a")
    rows = orjson.loads((await world.call("GET", "/admin/v1/workspaces/a/audit", "viewer")).body)
    assert rows and all(r["event_type"] for r in rows)
    ids = {r["uid"] for r in rows}
    for row in world.store.audit_events():
        assert (row["uid"] in ids) == (row["workspace_id"] == a.id)  # type: ignore[union-attr]


async def test_sign_out_ends_the_session_everywhere(world: World) -> None:
    assert (await world.call("GET", "/admin/v1/me", "admin_session")).status == 200
    out = await world.call("POST", "/sso/logout", "admin_session")
    assert out.status == 200 and "Max-Age=0" in out.headers["set-cookie"]
    assert (await world.call("GET", "/admin/v1/me", "admin_session")).status == 401
    assert events(world, "auth.logout")[0]["actor"] == "ada@example.com"


async def test_cookie_changes_need_json_csrf_guard(world: World) -> None:
    from tutela.testing.asgi import call

    cookie = f"tutela_session={world.creds['admin_session']}".encode()
    form = await call(world.app, "POST", "/admin/v1/workspaces/a/keys",
                      headers=[(b"cookie", cookie),
                               (b"content-type", b"application/x-www-form-urlencoded")],
                      body=b"role=analyst")
    assert form.status == 403
    ok = await call(world.app, "POST", "/admin/v1/workspaces/a/keys",
                    headers=[(b"cookie", cookie), (b"content-type", b"application/json")],
                    body=b'{"role": "analyst"}')
    assert ok.status == 201


async def test_break_glass_needs_password_and_a_fresh_totp(world: World) -> None:
    creds = break_glass.enable(world.identity, "glass@example.com")
    assert creds.password not in repr(creds)
    totp = pyotp.parse_uri(creds.totp_uri)
    body = {"email": "glass@example.com", "password": creds.password, "totp": totp.now()}
    ok = await world.call("POST", "/sso/break-glass", body=body)
    assert ok.status == 200, ok.body
    assert orjson.loads(ok.body)["org_role"] == "owner"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    replay = await world.call("POST", "/sso/break-glass", body=body)
    assert replay.status == 401  # the same code works once
    wrong = await world.call("POST", "/sso/break-glass", body={**body, "password": "nope"})
    assert wrong.status == 401 and creds.password.encode() not in wrong.body
    failures = [e for e in events(world, "auth.login") if e["outcome"] == "failure"]
    assert len(failures) == 2
    assert creds.password not in str(world.store.audit_events())
    assert break_glass.disable(world.identity, "glass@example.com")
    fresh = {**body, "totp": totp.at(__import__("time").time() + 30)}
    assert (await world.call("POST", "/sso/break-glass", body=fresh)).status == 401


async def test_disabling_a_departed_person_ends_their_sessions(world: World) -> None:
    assert (await world.call("GET", "/admin/v1/me", "admin_session")).status == 200
    off = await world.call("PUT", "/admin/v1/users/ada@example.com", "owner", {"disabled": True})
    assert off.status == 200 and orjson.loads(off.body)["disabled"] is True
    assert (await world.call("GET", "/admin/v1/me", "admin_session")).status == 401
    users = orjson.loads((await world.call("GET", "/admin/v1/users", "owner")).body)
    ada = next(u for u in users if u["email"] == "ada@example.com")
    assert ada["disabled"] is True and ada["workspaces"] == {"a": "admin"}
    [event] = events(world, "user.changed")
    assert event["data"]["before"]["disabled"] is False and event["data"]["after"]["disabled"]
    promote = await world.call("PUT", "/admin/v1/users/ada@example.com", "owner", {"owner": True})
    assert orjson.loads(promote.body)["org_role"] == "owner"
    myself = await world.call("PUT", "/admin/v1/users/owner@example.com", "owner",
                              {"disabled": True})
    assert myself.status == 400


async def test_interactive_only_workspaces_refuse_api_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tutela.admin.app import AdminApp
    from tutela.gateway import Gateway
    from tutela.identity.api_keys import mint_key
    from tutela.ingress.app import GatewayApp
    from tutela.policy import parse_policy
    from tutela.store.database import Store
    from tutela.testing.asgi import call

    store = Store(f"sqlite:///{tmp_path / 'i.db'}")
    store.migrate()
    store.create_workspace("people")
    store.create_workspace("apps")
    gateway = Gateway(parse_policy("workspaces:\n  people: {interactive_only: true}\n"), store)
    await gateway.start()
    try:
        refused = mint_key(store, workspace="people", role="admin").secret
        allowed = mint_key(store, workspace="apps", role="admin").secret
        for key, status in ((refused, 403), (allowed, 200)):
            answer = await call(GatewayApp(gateway), "GET", "/v1/models",
                                headers=[(b"x-api-key", key.encode())])
            assert answer.status == status, answer.body
        assert b"requires interactive sign-in" in (
            await call(GatewayApp(gateway), "GET", "/v1/models",
                       headers=[(b"x-api-key", refused.encode())])
        ).body
        admin = AdminApp(gateway)
        me = await call(admin, "GET", "/admin/v1/me",
                        headers=[(b"authorization", f"Bearer {refused}".encode())])
        assert me.status == 401
    finally:
        await gateway.stop()
        store.close()


async def test_denied_admin_actions_are_audited_where_the_caller_belongs(world: World) -> None:
    escalate = await world.call("POST", "/admin/v1/workspaces/a/keys", "key_manager",
                                {"role": "admin"})
    assert escalate.status == 403
    reach = await world.call("GET", "/admin/v1/workspaces/b/keys", "admin")
    assert reach.status == 403
    denied = events(world, "admin.denied")
    a = world.store.get_workspace("a")
    assert len(denied) == 2 and {e["workspace_id"] for e in denied} == {a.id}  # type: ignore[union-attr]
    assert any("cannot create a key with role 'admin'" in e["data"]["reason"] for e in denied)
    b = world.store.get_workspace("b")
    b_view = orjson.loads((await world.call("GET", "/admin/v1/workspaces/b/audit",
                                            "other_admin")).body)
    assert all(row["event_type"] != "admin.denied" for row in b_view)
    assert b is not None


async def test_audit_search_filters_and_audited_export(world: World) -> None:
    await world.call("POST", "/admin/v1/workspaces/a/keys", "admin", {"role": "viewer"})
    await world.call("POST", "/admin/v1/workspaces/b/keys", "other_admin", {"role": "viewer"})
    found = orjson.loads(
        (await world.call("GET", "/admin/v1/workspaces/a/audit", "viewer",
                          query=b"event_type=api_key.*&since=1h")).body
    )
    assert found and all(r["event_type"].startswith("api_key.") for r in found)
    bad = await world.call("GET", "/admin/v1/workspaces/a/audit", "viewer", query=b"since=yesterday")
    assert bad.status == 400 and "ISO 8601" in bad.body.decode()
    export = await world.call("GET", "/admin/v1/workspaces/a/audit/export", "viewer",
                              query=b"format=csv")
    assert export.status == 200 and export.body.startswith(b"seq,time,event_type")
    lines = export.body.decode().splitlines()
    a = world.store.get_workspace("a")
    assert a is not None
    assert len(lines) - 1 == len(world.store.audit_events(workspace_id=a.id)) - 1  # + export
    exports = world.store.audit_events("export.audit_events")
    assert exports and exports[0]["workspace_id"] == a.id
    assert exports[0]["event"]["count"] == len(lines) - 1
    other = await world.call("GET", "/admin/v1/workspaces/b/audit/export", "viewer")
    assert other.status == 403

"""OIDC sign-in end to end: a real oidc-provider (npm) and a real ``tutela serve``.

The test is the browser: it follows the redirects over HTTP and completes the provider's
login interaction with the user, groups and authentication methods each case needs.
"""

from __future__ import annotations

import urllib.parse

import orjson
import pytest

from tutela.testing.sso import Browser

from .conftest import SECRET, World

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-oidc")]

def test_sign_in_with_mfa_maps_groups_to_roles_and_opens_a_session(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="ada", groups="eng,sec-admins", amr="pwd,otp")
    page = browser.request(callback)
    assert page.status == 200, page.body
    result = orjson.loads(page.body)
    assert result["signed_in"] == "ada@example.com"
    assert result["workspaces"] == {"default": "admin"}  # the strongest mapped role
    [cookie] = [c for c in page.cookies if c.startswith("tutela_session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    me = orjson.loads(browser.request(world.gw.admin_url + "/admin/v1/me").body)
    assert me["kind"] == "user" and me["provider"] == "oidc:corp"
    created = browser.request(
        world.gw.admin_url + "/admin/v1/workspaces/default/keys", method="POST",
        data=b'{"role": "analyst", "name": "from-sso"}',
        headers={"content-type": "application/json"},
    )
    assert created.status == 201
    [event] = [e for e in world.audit("auth.login") if e["actor"] == "ada@example.com"
               and e["outcome"] == "success"]
    assert event["data"]["provider"] == "oidc:corp" and event["data"]["mfa"] is True
    assert event["data"]["source_ip"] == "127.0.0.1"
    assert any(e["event_type"] == "user.created" for e in world.audit("user.created"))
    out = browser.request(world.gw.admin_url + "/sso/logout", method="POST",
                          headers={"content-type": "application/json"})
    assert out.status == 200
    assert browser.request(world.gw.admin_url + "/admin/v1/me").status == 401
    # nothing secret reached the logs or the audit trail
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
    token = cookie.split(";")[0].split("=", 1)[1]
    logs = world.gw.stderr_text() + "".join(world.gw.stdout_lines)
    trail = str(world.audit(None))  # type: ignore[arg-type]
    for secret in (code, token, SECRET):
        assert secret not in logs and secret not in trail


def test_an_acr_at_the_configured_level_counts_as_mfa(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="grace", groups="eng", amr="pwd",
                                acr="urn:tutela:test:mfa")
    page = browser.request(callback)
    assert page.status == 200, page.body
    assert orjson.loads(page.body)["workspaces"] == {"default": "analyst"}


def test_without_mfa_sign_in_is_refused_with_a_clear_message_and_audited(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="mallory", groups="sec-admins", amr="pwd")
    page = browser.request(callback)
    assert page.status == 403
    message = orjson.loads(page.body)["error"]["message"]
    assert "multi-factor authentication is required" in message
    assert not [c for c in page.cookies if c.startswith("tutela_session=")]
    refused = [e for e in world.audit("auth.login") if e["outcome"] == "failure"
               and e["actor"] == "mallory@example.com"]
    assert refused and "multi-factor" in refused[0]["data"]["reason"]


def test_state_mismatch_replay_and_another_browser_are_refused(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="eve", groups="eng", amr="pwd,otp")
    parts = urllib.parse.urlsplit(callback)
    query = dict(urllib.parse.parse_qsl(parts.query))
    forged = callback.replace(query["state"], "forged-state")
    assert browser.request(forged).status == 400
    # the real state, from a browser that did not start the sign-in
    assert Browser().request(callback).status == 400
    # the state was spent by that attempt: even the right browser cannot use it now
    assert browser.request(callback).status == 400
    reasons = [e["data"]["reason"] for e in world.audit("auth.login") if e["outcome"] == "failure"]
    assert any("unknown, expired or already used" in r for r in reasons)
    assert any("another browser" in r for r in reasons)


def test_a_person_with_no_mapped_group_gets_no_session(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="zed", groups="marketing", amr="pwd,otp")
    page = browser.request(callback)
    assert page.status == 403 and b"no role in any workspace" in page.body


def test_owner_group_makes_an_org_owner(world: World) -> None:
    browser = Browser()
    callback, _ = world.sign_in(browser, user="olga", groups="tutela-owners", amr="otp")
    page = browser.request(callback)
    assert page.status == 200 and orjson.loads(page.body)["org_role"] == "owner"
    listing = browser.request(world.gw.admin_url + "/admin/v1/workspaces")
    assert listing.status == 200 and "default" in listing.body.decode()

"""Claude Code sign-in without API keys, over HTTP: the gateway's OAuth discovery, the
RFC 8628 device flow approved through a real oidc-provider (with MFA), gateway tokens on
the Messages API, refresh with rotation, managed settings, and deprovisioning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
from pathlib import Path

import orjson
import pytest

from tutela.testing.sso import Browser

from .conftest import World
from .test_claude_code import claude  # noqa: F401 - the fixture that installs the pinned CLI

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-oidc")]


def post_form(browser: Browser, url: str, fields: dict[str, str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    page = browser.post_form(url, fields)
    return page.status, json.loads(page.body or b"{}")


def start_device(world: World, browser: Browser) -> dict:  # type: ignore[type-arg]
    discovery = json.loads(browser.request(world.gw.base_url
                                           + "/.well-known/oauth-authorization-server").body)
    assert discovery["device_authorization_endpoint"].startswith(world.gw.base_url)
    assert discovery["token_endpoint"].startswith(world.gw.base_url)
    status, device = post_form(browser, discovery["device_authorization_endpoint"], {})
    assert status == 200 and device["interval"] >= 1 and len(device["device_code"]) >= 43
    return {**device, "token_endpoint": discovery["token_endpoint"]}


def approve_in_browser(world: World, device: dict, **facts: str) -> bytes:  # type: ignore[type-arg]
    person = Browser()
    page = person.request(device["verification_uri_complete"])
    assert page.status == 200 and device["user_code"].encode() in page.body
    confirm = person.post_form(world.gw.admin_url + "/sso/device",
                               {"user_code": device["user_code"], "provider": "oidc:corp"})
    assert confirm.status == 303
    url, _ = person.follow(urllib.parse.urljoin(world.gw.admin_url, confirm.location),
                           stop=world.issuer + "/interaction/")
    callback, _ = person.follow(f"{url}?{urllib.parse.urlencode(facts)}",
                                stop=world.gw.admin_url)
    return person.request(callback).body


def poll(browser: Browser, device: dict) -> tuple[int, dict]:  # type: ignore[type-arg]
    return post_form(browser, device["token_endpoint"], {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"],
    })


def ask(world: World, token: str, path: str = "/v1/messages",
        model: str = "claude-sonnet-4-6") -> int:
    body = json.dumps({"model": model, "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    page = Browser().request(world.gw.base_url + path, method="POST", data=body, headers={
        "authorization": f"Bearer {token}", "anthropic-version": "2023-06-01",
        "content-type": "application/json"})
    return page.status


def test_device_flow_signs_claude_code_in_and_deprovisioning_ends_it(world: World) -> None:
    client = Browser()
    device = start_device(world, client)
    status, body = poll(client, device)
    assert status == 400 and body["error"] == "authorization_pending"
    status, body = poll(client, device)
    assert status == 400 and body["error"] == "slow_down"
    page = approve_in_browser(world, device, user="devon", groups="eng", amr="pwd,otp")
    assert b"Claude Code is signed in" in page
    status, tokens = poll(client, device)
    assert status == 200, tokens
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    assert access.startswith("tutela_gt_") and refresh.startswith("tutela_rt_")
    assert poll(client, device)[1]["error"] == "expired_token"  # the code works once
    assert ask(world, access) == 200
    # the "eng" group may use Sonnet models only
    assert ask(world, access, model="claude-opus-4-1") == 403
    # managed settings with ETag, and the telemetry sink
    settings = client.request(world.gw.base_url + "/managed/settings",
                              headers={"authorization": f"Bearer {access}"})
    assert settings.status == 200
    payload = json.loads(settings.body)
    assert payload["settings"]["env"]["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"
    assert payload["settings"]["permissions"]["deny"] == ["WebFetch"]  # from the eng group
    again = client.request(world.gw.base_url + "/managed/settings", headers={
        "authorization": f"Bearer {access}", "if-none-match": settings.headers["etag"]})
    assert again.status == 304
    assert ask(world, access, "/v1/metrics") == 200
    assert ask(world, "tutela_gt_" + "x" * 43) == 401
    # refresh rotates: the old refresh token is spent
    status, fresh = post_form(client, device["token_endpoint"],
                              {"grant_type": "refresh_token", "refresh_token": refresh})
    assert status == 200 and fresh["refresh_token"] != refresh
    status, body = post_form(client, device["token_endpoint"],
                             {"grant_type": "refresh_token", "refresh_token": refresh})
    assert status == 401 and body["error"] == "invalid_grant"
    assert ask(world, fresh["access_token"]) == 200
    # deprovisioning: removing the member stops the token within the cache lifetime,
    # and the next refresh is refused (Claude Code goes back to sign-in)
    removed = Browser().request(
        world.gw.admin_url + "/admin/v1/workspaces/default/members/devon@example.com",
        method="DELETE", headers={"authorization": f"Bearer {world.gw.admin_key}"})
    assert removed.status == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ask(world, fresh["access_token"]) == 200:
        time.sleep(0.1)
    assert ask(world, fresh["access_token"]) == 401
    status, body = post_form(client, device["token_endpoint"],
                             {"grant_type": "refresh_token",
                              "refresh_token": fresh["refresh_token"]})
    assert status == 401 and body["error"] == "invalid_grant"
    # audited, and no token reached the logs or the audit trail
    trail = str(world.audit(None))  # type: ignore[arg-type]
    assert "token_issued" in trail and "device_approved" in trail and "token_refresh" in trail
    logs = world.gw.stderr_text()
    for secret in (access, refresh, fresh["access_token"], device["device_code"]):
        assert secret not in trail and secret not in logs


def test_device_sign_in_without_mfa_is_denied_to_the_polling_client(world: World) -> None:
    client = Browser()
    device = start_device(world, client)
    page = approve_in_browser(world, device, user="nomfa", groups="eng", amr="pwd")
    assert b"multi-factor authentication is required" in page
    status, body = poll(client, device)
    assert status == 400 and body["error"] == "access_denied"


def test_unknown_codes_and_grants_are_refused(world: World) -> None:
    client = Browser()
    device = start_device(world, client)
    status, body = post_form(client, device["token_endpoint"], {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "nope"})
    assert status == 400 and body["error"] == "expired_token"
    status, body = post_form(client, device["token_endpoint"], {"grant_type": "password"})
    assert body["error"] == "unsupported_grant_type"
    missing = Browser().request(world.gw.admin_url + "/sso/device?user_code=BBBB-CCCC")
    assert missing.status == 404
    settings = client.request(world.gw.base_url + "/managed/settings")
    assert settings.status == 401
    assert orjson.loads(settings.body)["error"]["type"] == "authentication_error"


# -- the real Claude Code CLI ----------------------------------------------------------------


def _cli_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def test_the_real_claude_code_signs_in_and_answers_with_a_gateway_token(
    world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """``claude auth login --gateway-json`` runs the sign-in (its browser step done here over
    HTTP against the IdP, as the person would), then ``claude -p`` answers through tutela
    with the gateway token it obtained: no API key anywhere."""
    binary: Path = request.getfixturevalue("claude")  # installs the pinned CLI, or skips
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text(json.dumps(
        {"forceLoginMethod": "gateway", "forceLoginGatewayUrl": world.gw.base_url}))
    login = subprocess.Popen(
        [str(binary), "auth", "login", "--gateway-json"], cwd=home, env=_cli_env(home),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    states: list[str] = []
    try:
        assert login.stdin is not None and login.stdout is not None
        deadline = time.monotonic() + 90
        for line in login.stdout:
            message = json.loads(line)
            states.append(message["state"])
            if message["state"] in ("url_input", "trust_prompt", "confirm_account"):
                login.stdin.write(json.dumps(
                    {"state": message["state"], "shown": message["shown"], "accept": True}) + "\n")
                login.stdin.flush()
            elif message["state"] == "polling" and "approved" not in states:
                states.append("approved")
                code = message["userCode"]
                device = {"user_code": code, "verification_uri_complete":
                          f"{world.gw.admin_url}/sso/device?user_code={code}"}
                page = approve_in_browser(world, device, user="cody", groups="eng", amr="otp")
                assert b"Claude Code is signed in" in page
            elif message["state"] in ("done", "error", "cancelled"):
                assert message["state"] == "done", message
                break
            assert time.monotonic() < deadline, states
        login.stdin.close()
        login.wait(timeout=30)
    finally:
        if login.poll() is None:
            os.killpg(login.pid, signal.SIGKILL)
            login.wait()
        for stream in (login.stdout, login.stderr):
            if stream is not None:
                stream.close()
    assert login.returncode == 0, states
    prompt = "Which gateway answers me?"
    work = home / "work"
    work.mkdir()
    done = subprocess.run(
        [str(binary), "-p", prompt, "--tools", "", "--model", "claude-sonnet-4-6"],
        cwd=work, env=_cli_env(home), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # (without --bare Claude Code adds its context before the prompt; the offline model
    # echoes the start of what it was sent)
    assert done.stdout.startswith("Offline model reply to:"), done.stdout[:300]
    served = [json.loads(raw) for raw in world.gw.stderr_text().splitlines()
              if raw.startswith("{") and '"tutela.access"' in raw]
    mine = [e for e in served if e.get("endpoint") == "messages" and e.get("status") == 200
            and str(e.get("key_id", "")).startswith("ses_")]
    assert mine, "no Messages API request carried a gateway token"
    assert {e["workspace"] for e in mine} == {"default"}
    trail = str(world.audit(None))  # type: ignore[arg-type]
    assert "cody@example.com" in trail and "token_issued" in trail

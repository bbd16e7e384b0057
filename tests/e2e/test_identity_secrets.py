"""No key, token or password ever appears in logs, error messages or audit records.

One real ``tutela serve``; every identity operation that handles a secret is exercised
(create, rotate, revoke, bad keys, break-glass sign-in right and wrong, sign-out), then
its stderr, stdout after the first-start banner, every HTTP answer and every audit row
are scanned for each secret the test created or saw.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pyotp
import pytest

from tutela.store.database import Store
from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-identity-secrets")]


def http(url: str, method: str = "GET", body: object = None,
         headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("set-cookie", "")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), ""


def test_secrets_never_reach_logs_errors_or_audit(tmp_path: Path) -> None:
    with GatewayProcess(tmp_path, config_text="identity:\n  sessions: {cookie_secure: false}\n") as gw:
        secrets = [gw.admin_key]
        answers: list[bytes] = []
        auth = {"authorization": f"Bearer {gw.admin_key}"}
        base = gw.admin_url + "/admin/v1/workspaces/default/keys"
        status, body, _ = http(base, "POST", {"role": "analyst", "name": "app"}, auth)
        assert status == 201
        created = json.loads(body)
        secrets.append(created["key"])
        status, body, _ = http(f"{base}/{created['id']}/rotate", "POST", {}, auth)
        assert status == 201
        successor = json.loads(body)["new"]
        secrets.append(successor["key"])
        status, body, _ = http(f"{base}/{successor['id']}/revoke", "POST", {}, auth)
        answers.append(body)
        # presenting revoked, tampered and foreign-looking keys: refused without echo
        tampered = successor["key"][:-4] + "AAAA"
        for presented in (successor["key"], tampered, "sk-ant-api03-" + "x" * 40):
            for url in (gw.base_url + "/v1/models", gw.admin_url + "/admin/v1/me"):
                status, body, _ = http(url, headers={"authorization": f"Bearer {presented}"})
                assert status == 401
                answers.append(body)
                assert presented.encode() not in body
        secrets.append(tampered)
        # break-glass: enable on the CLI, sign in wrong then right, sign out
        enabled = gw.cli("break-glass", "enable", "--email", "root@example.com").stdout
        password = enabled.split("password: ")[1].split()[0]
        totp = pyotp.parse_uri(enabled.split("authenticator app): ")[1].split()[0])
        secrets.append(password)
        status, body, _ = http(gw.admin_url + "/sso/break-glass", "POST",
                               {"email": "root@example.com", "password": password + "x",
                                "totp": totp.now()})
        assert status == 401
        answers.append(body)
        status, body, cookie = http(gw.admin_url + "/sso/break-glass", "POST",
                                    {"email": "root@example.com", "password": password,
                                     "totp": totp.now()})
        assert status == 200, body
        session = cookie.split(";")[0].split("=", 1)[1]
        secrets.append(session)
        status, body, _ = http(gw.admin_url + "/sso/logout", "POST", {},
                               {"cookie": f"tutela_session={session}"})
        assert status == 200
        answers.append(body)
        banner_end = next(i for i, line in enumerate(gw.stdout_lines) if "tutela: gateway on" in line)
        logs = gw.stderr_text() + "".join(gw.stdout_lines[banner_end + 1:])
    store = Store(gw.db_url)
    try:
        trail = json.dumps([{k: str(v) for k, v in row.items()} for row in store.audit_events()])
    finally:
        store.close()
    assert "api_key.rotated" in trail and "auth.login" in trail and "auth.logout" in trail
    for secret in secrets:
        # the part after "tutela_xx_" and any "<16 hex id>_" (a secret may itself hold "_")
        secret_part = re.sub(r"^tutela_[a-z]{2}_(?:[0-9a-f]{16}_)?", "", secret)
        assert len(secret_part) >= 20
        for haystack, where in ((logs, "logs"), (trail, "audit"),
                                (b"".join(answers).decode(), "answers")):
            assert secret not in haystack, f"a secret reached the {where}"
            assert secret_part not in haystack, f"a secret's secret part reached the {where}"

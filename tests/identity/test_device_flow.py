"""The gateway port's Claude Code sign-in endpoints, in process: off by default, discovery,
user codes, and the refusals that need no identity provider."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tutela.gateway import Gateway
from tutela.identity.device_flow import new_user_code, normalise_user_code
from tutela.ingress.app import GatewayApp
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.testing.asgi import call

LOCAL = [(b"host", b"127.0.0.1:8080")]


async def app_for(tmp_path: Path, policy: str) -> tuple[GatewayApp, Store]:
    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    store.migrate()
    return GatewayApp(Gateway(parse_policy(policy), store)), store


async def test_off_by_default(tmp_path: Path) -> None:
    app, store = await app_for(tmp_path, "")
    try:
        answer = await call(app, "GET", "/.well-known/oauth-authorization-server", headers=LOCAL)
        assert answer.status == 404
    finally:
        store.close()


async def test_discovery_and_refusals(tmp_path: Path) -> None:
    app, store = await app_for(tmp_path, "identity:\n  claude_code: {enabled: true}\n")
    try:
        forged = await call(app, "GET", "/.well-known/oauth-authorization-server",
                            headers=[(b"host", b"evil.example")])
        assert forged.status == 503
        found = orjson.loads((await call(app, "GET", "/.well-known/oauth-authorization-server",
                                         headers=LOCAL)).body)
        assert found["token_endpoint"] == "http://127.0.0.1:8080/oauth/token"
        assert "authorization_endpoint" not in found
        # no admin URL to send people to: the device flow cannot start
        start = await call(app, "POST", "/oauth/device_authorization", headers=LOCAL)
        assert start.status == 503 and orjson.loads(start.body)["error"] == "server_error"
        refresh = await call(app, "POST", "/oauth/token", headers=LOCAL,
                             body=b"grant_type=refresh_token&refresh_token=tutela_rt_x")
        assert refresh.status == 401 and orjson.loads(refresh.body)["error"] == "invalid_grant"
        assert (await call(app, "POST", "/v1/metrics", headers=LOCAL)).status == 401
    finally:
        store.close()


@pytest.mark.parametrize("raw", ["bcdf-ghjk", "BCDFGHJK", " bcdf ghjk "])
def test_user_codes_normalise(raw: str) -> None:
    assert normalise_user_code(raw) == "BCDF-GHJK"


def test_user_codes_are_base20_without_vowels() -> None:
    for _ in range(50):
        code = new_user_code()
        assert normalise_user_code(code) == code and not set(code) & set("AEIOUY0123456789")


def test_group_settings_merge_and_models_union() -> None:
    from tutela.policy import ClaudeCodeSettings

    settings = ClaudeCodeSettings.model_validate({
        "managed_settings": {"env": {"A": "1"}, "permissions": {"deny": ["X"]}},
        "groups": {
            "eng": {"models": ["claude-sonnet-*"], "managed_settings": {"env": {"B": "2"}}},
            "sec": {"models": ["claude-opus-*"], "managed_settings": {"permissions": {"deny": []}}},
            "ops": {"managed_settings": {"env": {"A": "3"}}},
        },
    })
    merged, models = settings.for_groups(("sec", "eng", "unknown"))
    assert merged == {"env": {"A": "1", "B": "2"}, "permissions": {"deny": []}}
    assert models == ("claude-sonnet-*", "claude-opus-*")
    assert settings.for_groups(("ops",)) == ({"env": {"A": "3"}, "permissions": {"deny": ["X"]}}, ())
    assert settings.for_groups(()) == (settings.managed_settings, ())


async def test_starting_sign_ins_is_rate_limited_per_address(tmp_path: Path) -> None:
    from tutela.identity.device_flow import DEVICE_STARTS_PER_MINUTE

    app, store = await app_for(
        tmp_path,
        "identity:\n  public_url: http://127.0.0.1:8081\n  claude_code: {enabled: true}\n",
    )
    try:
        statuses = [
            (await call(app, "POST", "/oauth/device_authorization", headers=LOCAL)).status
            for _ in range(DEVICE_STARTS_PER_MINUTE + 1)
        ]
        assert statuses[:-1] == [200] * DEVICE_STARTS_PER_MINUTE
        assert statuses[-1] == 429
    finally:
        store.close()

"""End-to-end fixtures: a real ``tutela serve`` process on the offline upstream."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutela.testing.audit import identity_view
from tutela.testing.process import GatewayProcess
from tutela.testing.sso import Browser, NodeOidcProvider, node_unavailable

E2E_POLICY = """
guards:
  rate_limits:
    per_key: {requests_per_minute: 100000}
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir: Path = tmp_path_factory.mktemp("gateway")
    with GatewayProcess(workdir, config_text=E2E_POLICY) as process:
        yield process


# -- SSO: a real oidc-provider (npm) and a tutela process configured for it -----------------

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "identity" / "oidc_provider"
SECRET = "test-client-secret-" + "x" * 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class World:
    def __init__(self, gw: GatewayProcess, issuer: str) -> None:
        self.gw = gw
        self.issuer = issuer

    def sign_in(self, browser: Browser, **facts: str) -> tuple[str, object]:
        """Start at tutela, log in at the provider with ``facts``; returns the callback URL
        (not yet visited) and the provider's last page."""
        url, page = browser.follow(
            self.gw.admin_url + "/sso/oidc/corp/login", stop=self.issuer + "/interaction/"
        )
        assert "/interaction/" in url, (url, page.status, page.body[:300])
        query = urllib.parse.urlencode(facts)
        callback, page = browser.follow(f"{url}?{query}", stop=self.gw.admin_url)
        assert callback.startswith(self.gw.admin_url + "/sso/oidc/corp/callback"), (callback, page.body[:300])
        return callback, page

    def audit(self, event_type: str) -> list[dict]:  # type: ignore[type-arg]
        from tutela.store.database import Store

        store = Store(self.gw.db_url)
        try:
            return [{**r, "data": identity_view(r)} for r in store.audit_events(event_type)]
        finally:
            store.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    reason = node_unavailable()
    if reason:
        pytest.skip(reason)
    port = _free_port()
    admin = f"http://127.0.0.1:{port}"
    with NodeOidcProvider(
        PROVIDER_DIR, client_id="tutela", client_secret=SECRET,
        redirect_uri=f"{admin}/sso/oidc/corp/callback",
    ) as idp:
        policy = f"""
identity:
  public_url: {admin}
  sessions: {{cookie_secure: false}}
  claude_code:
    enabled: true
    managed_settings: {{env: {{CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY: "1"}}}}
    groups:
      eng:
        models: ["claude-sonnet-*"]
        managed_settings: {{permissions: {{deny: [WebFetch]}}}}
sso:
  oidc:
    corp:
      issuer: {idp.issuer}
      client_id: tutela
      client_secret_env: TUTELA_TEST_OIDC_SECRET
      scopes: [openid, email, profile, groups]
      mfa_acr: ["urn:tutela:test:mfa"]
  role_mapping:
    default:
      groups: {{eng: analyst, sec-admins: admin}}
  owner_groups: [tutela-owners]
"""
        workdir = tmp_path_factory.mktemp("oidc")
        with GatewayProcess(
            workdir, config_text=policy, env={"TUTELA_TEST_OIDC_SECRET": SECRET},
            extra_args=["--admin-port", str(port)],
        ) as gw:
            yield World(gw, idp.issuer)



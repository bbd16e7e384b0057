"""Sign-in endpoints that need no identity provider to test: URL trust, unknown providers."""

from __future__ import annotations

from pathlib import Path

from tutela.admin.app import AdminApp
from tutela.gateway import Gateway
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.testing.asgi import call

POLICY = """
sso:
  oidc:
    corp: {issuer: "http://127.0.0.1:9", client_id: tutela}
"""


async def test_without_public_url_only_a_loopback_host_is_trusted(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 't.db'}")
    store.migrate()
    gateway = Gateway(parse_policy(POLICY), store)
    app = AdminApp(gateway)
    try:
        forged = await call(app, "GET", "/sso/oidc/corp/login", headers=[(b"host", b"evil.example")])
        assert forged.status == 503 and b"public_url" in forged.body
        # a loopback host is used; the IdP is down here, which is a clear 502, audited
        local = await call(app, "GET", "/sso/oidc/corp/login",
                           headers=[(b"host", b"127.0.0.1:8081")])
        assert local.status == 502 and b"unreachable" in local.body
        assert store.audit_events("auth.login")[0]["outcome"] == "failure"
        unknown = await call(app, "GET", "/sso/oidc/nope/login", headers=[(b"host", b"127.0.0.1")])
        assert unknown.status == 404
        saml = await call(app, "GET", "/sso/saml/nope/metadata", headers=[(b"host", b"127.0.0.1")])
        assert saml.status == 404
        providers = await call(app, "GET", "/sso/providers")
        assert b"/sso/oidc/corp/login" in providers.body
    finally:
        store.close()

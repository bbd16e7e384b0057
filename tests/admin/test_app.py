"""The admin port: health, readiness, metrics; and it is a separate listener."""

from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest

from tutela.admin.app import AdminApp
from tutela.testing.asgi import call
from tutela.testing.process import GatewayProcess


@pytest.fixture
async def admin(harness):  # type: ignore[no-untyped-def]
    return AdminApp(harness.gateway)


async def test_health_ready_metrics(admin, harness) -> None:  # type: ignore[no-untyped-def]
    assert (await call(admin, "GET", "/healthz")).status == 200
    ready = await call(admin, "GET", "/readyz")
    assert ready.status == 200 and orjson.loads(ready.body)["checks"]["database"] is True
    await call(
        harness.app,
        "POST",
        "/v1/messages",
        headers=harness.headers(),
        body=orjson.dumps(
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        ),
    )
    metrics = (await call(admin, "GET", "/metrics")).body.decode()
    assert 'tutela_requests_total{endpoint="messages",outcome="ok",status="200"} 1.0' in metrics
    assert "tutela_tokens_total" in metrics and "tutela_audit_backlog" in metrics
    assert harness.key not in metrics


async def test_readiness_fails_when_the_database_is_gone(admin, harness) -> None:  # type: ignore[no-untyped-def]
    harness.gateway.store.ping = lambda: False
    ready = await call(admin, "GET", "/readyz")
    assert ready.status == 503 and orjson.loads(ready.body)["status"] == "not_ready"


async def test_admin_refuses_writes_and_unknown_paths(admin) -> None:  # type: ignore[no-untyped-def]
    assert (await call(admin, "POST", "/healthz")).status == 405
    assert (await call(admin, "GET", "/v1/messages")).status == 404


@pytest.mark.slow
def test_admin_and_gateway_are_different_listeners(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with GatewayProcess(tmp_path) as gw:
        assert gw.admin_url != gw.base_url
        with urllib.request.urlopen(gw.admin_url + "/healthz", timeout=5) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(gw.base_url + "/metrics", timeout=5)
        assert info.value.code == 404
        info.value.close()

"""Revocation across replicas: two real gateway processes sharing PostgreSQL and Redis.

Both cache key records for 60 s here, so when the second one refuses a revoked key at
once, it is the Redis announcement that made it do so, not a cache expiring.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.xdist_group("e2e-revocation")]

PG_ADMIN = os.environ.get("TUTELA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TUTELA_TEST_REDIS", "redis://127.0.0.1:6379/0")
POLICY = """
identity:
  keys: {cache_seconds: 60}
guards:
  rate_limits:
    per_key: {requests_per_minute: 100000}
"""


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        import psycopg

        name = "tutela_test_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {type(exc).__name__}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is not reachable: {type(exc).__name__}")
    return REDIS


def ask(base_url: str, key: str) -> int:
    body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 8,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(
        base_url + "/v1/messages", data=body, method="POST",
        headers={"x-api-key": key, "anthropic-version": "2023-06-01",
                 "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def admin(gw: GatewayProcess, method: str, path: str, body: object = None) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(
        gw.admin_url + path, method=method,
        data=json.dumps(body or {}).encode(),
        headers={"authorization": f"Bearer {gw.admin_key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_a_key_revoked_on_one_replica_is_refused_by_another_at_once(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    env = {"TUTELA_REDIS_URL": redis_url}
    with GatewayProcess(tmp_path / "a", config_text=POLICY, db_url=pg_url, env=env) as a, \
            GatewayProcess(tmp_path / "b", config_text=POLICY, db_url=pg_url, env=env) as b:
        assert a.admin_key and not b.admin_key  # one bootstrap for the shared database
        key = admin(a, "POST", "/admin/v1/workspaces/default/keys", {"role": "analyst"})
        assert ask(b.base_url, key["key"]) == 200  # b now caches the record for 60 s
        assert ask(a.base_url, key["key"]) == 200
        revoked = admin(a, "POST", f"/admin/v1/workspaces/default/keys/{key['id']}/revoke")
        assert revoked["revoked_at"]
        started = time.monotonic()
        status = 200
        while time.monotonic() - started < 10 and status == 200:
            status = ask(b.base_url, key["key"])
        waited = time.monotonic() - started
        assert status == 401, "replica b still accepts a revoked key"
        assert ask(a.base_url, key["key"]) == 401
        print(f"revocation reached the other replica in {waited * 1000:.0f} ms")
        logs = a.stderr_text() + b.stderr_text() + "".join(a.stdout_lines + b.stdout_lines)
        assert key["key"] not in logs

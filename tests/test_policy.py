"""The policy file: defaults, validation, and errors that point at file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.errors import ConfigError
from tutela.policy import Policy, load_policy, parse_policy


def test_defaults_are_safe_and_offline() -> None:
    policy = load_policy(None)
    assert policy.default_upstream == "offline"
    assert policy.gateway.host == "127.0.0.1" and policy.gateway.port == 8080
    assert policy.admin.port == 8081
    assert policy.guards.limits.enabled and policy.guards.rate_limits.enabled
    assert policy.guards.limits.on_error == "block"
    assert policy.guards.rate_limits.per_key.requests_per_minute == 600


def test_full_policy_parses() -> None:
    policy = parse_policy("""
version: 1
default_upstream: claude
upstreams:
  claude: {type: anthropic, base_url: "https://api.anthropic.com/"}
  claude-eu: {type: anthropic, base_url: "https://eu.example.test", region: eu}
  offline: {type: offline}
workspaces:
  legal: {upstream: claude-eu}
guards:
  limits: {max_body_bytes: 1000, allowed_models: ["claude-*"]}
  rate_limits: {per_workspace: {tokens_per_day: 5000}}
""")
    assert policy.upstreams["claude"].base_url == "https://api.anthropic.com"
    assert policy.upstream_for("legal") == "claude-eu"
    assert policy.upstream_for("other") == "claude"
    assert policy.guards.rate_limits.per_workspace.tokens_per_day == 5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "guards:\n  limits:\n    max_body_bytes: -5\n",
            "<policy>:3: guards.limits.max_body_bytes",
        ),
        ("guards:\n  limtis: {}\n", "<policy>:2: guards.limtis: Extra inputs are not permitted"),
        (
            "upstreams:\n  a:\n    type: anthropic\n    api_key: sk-123\n",
            "<policy>:4: upstreams.a.api_key: Extra inputs",
        ),
        ("default_upstream: nope\n", "default_upstream 'nope' is not in upstreams"),
        (
            "workspaces:\n  x: {upstream: ghost}\n",
            "workspaces.x.upstream 'ghost' is not in upstreams",
        ),
        (
            "upstreams:\n  a: {type: anthropic, base_url: ftp://x}\n",
            "<policy>:2: upstreams.a.base_url",
        ),
        ("gateway: {port: 9000}\nadmin: {port: 9000}\n", "admin.port must differ"),
        ("guards: [1, 2\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_errors_name_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(text)
    assert expected in str(info.value)


def test_secret_values_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy("upstreams:\n  a:\n    type: anthropic\n    api_key: sk-ant-very-secret\n")
    assert "sk-ant-very-secret" not in str(info.value)


def test_load_policy_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tutela.yaml"
    path.write_text("logging: {level: loud}\n")
    with pytest.raises(ConfigError, match=r"tutela.yaml:1: logging.level"):
        load_policy(path)
    with pytest.raises(ConfigError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.yaml")


def test_empty_file_means_defaults() -> None:
    assert parse_policy("") == Policy()


def test_redis_url_comes_only_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = parse_policy("redis_url_env: MY_REDIS\n")
    monkeypatch.delenv("MY_REDIS", raising=False)
    assert policy.redis_url() is None
    monkeypatch.setenv("MY_REDIS", "redis://127.0.0.1:6379/0")
    assert policy.redis_url() == "redis://127.0.0.1:6379/0"

"""The official anthropic SDK against a real tutela process on the offline upstream."""

from __future__ import annotations

import json
import sqlite3
import time

import anthropic
import pytest

from tutela.testing.audit import request_view
from tutela.testing.process import GatewayProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e-sdk")]

PROMPT = [{"role": "user", "content": "What does a security gateway do?"}]
MODEL = "claude-sonnet-4-6"


def client(
    gateway: GatewayProcess, key: str | None = None, **kwargs: object
) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.base_url, api_key=key or gateway.admin_key, max_retries=0, **kwargs
    )  # type: ignore[arg-type]


def new_key(gateway: GatewayProcess, role: str, workspace: str = "default") -> str:
    out = gateway.cli("keys", "create", "--workspace", workspace, "--role", role, "--json")
    return str(json.loads(out.stdout)["key"])


def test_first_start_printed_one_admin_key(gateway: GatewayProcess) -> None:
    assert gateway.admin_key.startswith("tutela_sk_")
    printed = "".join(gateway.stdout_lines)
    assert printed.count(gateway.admin_key) == 2  # the key line and the curl example
    assert "curl" in printed and "/v1/messages" in printed


def test_messages_create(gateway: GatewayProcess) -> None:
    message = client(gateway).messages.create(model=MODEL, max_tokens=200, messages=PROMPT)
    assert message.role == "assistant" and message.model == MODEL
    assert message.content[0].type == "text" and message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_messages_stream_text_and_final_message(gateway: GatewayProcess) -> None:
    sdk = client(gateway)
    with sdk.messages.stream(model=MODEL, max_tokens=200, messages=PROMPT) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    plain = sdk.messages.create(model=MODEL, max_tokens=200, messages=PROMPT)
    assert text == final.content[0].text == plain.content[0].text  # type: ignore[union-attr]
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens > 0


def test_tool_use_round_trip(gateway: GatewayProcess) -> None:
    tools = [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    sdk = client(gateway)
    with sdk.messages.stream(model=MODEL, max_tokens=300, messages=PROMPT, tools=tools) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    call = next(block for block in final.content if block.type == "tool_use")
    assert call.name == "get_weather" and isinstance(call.input["city"], str)  # type: ignore[index]


def test_count_tokens_and_beta_variant(gateway: GatewayProcess) -> None:
    sdk = client(gateway)
    counted = sdk.messages.count_tokens(model=MODEL, messages=PROMPT)
    assert counted.input_tokens > 0
    beta = sdk.beta.messages.count_tokens(
        model=MODEL, messages=PROMPT, betas=["token-counting-2024-11-01"]
    )
    assert beta.input_tokens == counted.input_tokens


def test_models_list_paginates(gateway: GatewayProcess) -> None:
    sdk = client(gateway)
    everything = [m.id for m in sdk.models.list(limit=100)]
    assert len(everything) >= 3
    paged = [m.id for m in sdk.models.list(limit=2)]  # auto-pagination walks every page
    assert paged == everything
    assert sdk.models.retrieve(everything[0]).id == everything[0]


def test_bearer_auth_works(gateway: GatewayProcess) -> None:
    sdk = anthropic.Anthropic(
        base_url=gateway.base_url, auth_token=gateway.admin_key, max_retries=0
    )
    assert sdk.messages.create(model=MODEL, max_tokens=50, messages=PROMPT).content


def test_bad_key_raises_authentication_error(gateway: GatewayProcess) -> None:
    fake = "tutela_sk_0123456789abcdef_" + "x" * 43
    with pytest.raises(anthropic.AuthenticationError) as info:
        client(gateway, fake).messages.create(model=MODEL, max_tokens=10, messages=PROMPT)
    assert info.value.status_code == 401
    body = info.value.body
    assert isinstance(body, dict) and body["request_id"].startswith("req_tut_")
    assert fake not in str(body)


def test_viewer_role_raises_permission_denied(gateway: GatewayProcess) -> None:
    key = new_key(gateway, "viewer")
    with pytest.raises(anthropic.PermissionDeniedError, match="viewer"):
        client(gateway, key).messages.create(model=MODEL, max_tokens=10, messages=PROMPT)


def test_revoked_key_is_refused_within_a_second(gateway: GatewayProcess) -> None:
    key = new_key(gateway, "analyst")
    sdk = client(gateway, key)
    assert sdk.messages.create(model=MODEL, max_tokens=10, messages=PROMPT).content
    gateway.cli("keys", "revoke", key.split("_")[2])
    time.sleep(1.1)
    with pytest.raises(anthropic.AuthenticationError):
        sdk.messages.create(model=MODEL, max_tokens=10, messages=PROMPT)


def test_bad_request_raises_bad_request_error(gateway: GatewayProcess) -> None:
    sdk = client(gateway)
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        sdk.messages.create(model=MODEL, max_tokens=0, messages=PROMPT)
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        sdk.messages.create(model=MODEL, max_tokens=5, messages="nope")  # type: ignore[arg-type]


def test_unknown_route_raises_not_found(gateway: GatewayProcess) -> None:
    with pytest.raises(anthropic.NotFoundError):
        client(gateway).get("/v1/admin/keys", cast_to=object)


def test_rate_limit_raises_rate_limit_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    policy = "guards:\n  rate_limits:\n    per_key: {requests_per_minute: 2}\n"
    with GatewayProcess(tmp_path_factory.mktemp("rl"), config_text=policy) as gw:
        sdk = client(gw)
        for _ in range(2):
            sdk.messages.create(model=MODEL, max_tokens=10, messages=PROMPT)
        with pytest.raises(anthropic.RateLimitError) as info:
            sdk.messages.create(model=MODEL, max_tokens=10, messages=PROMPT)
        assert int(info.value.response.headers["retry-after"]) >= 1


def test_every_request_is_metered_and_audited_without_content(gateway: GatewayProcess) -> None:
    sdk = client(gateway)
    secret_prompt = "my password is hunter2-unique-marker"
    message = sdk.messages.with_raw_response.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": secret_prompt}]
    )
    request_id = message.headers["x-tutela-request-id"]
    parsed = message.parse()
    db = gateway.db_url.removeprefix("sqlite:///")
    deadline = time.monotonic() + 5
    row = None
    while time.monotonic() < deadline and row is None:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT input_tokens, output_tokens, outcome, status FROM usage_records "
                "WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        time.sleep(0.05)
    assert row == (parsed.usage.input_tokens, parsed.usage.output_tokens, "ok", 200)
    with sqlite3.connect(db) as conn:
        audit = conn.execute(
            "SELECT data FROM audit_events WHERE data LIKE ?", (f"%{request_id}%",)
        ).fetchone()
        everything = "\n".join(r[0] for r in conn.execute("SELECT data FROM audit_events"))
    assert (
        audit is not None
        and request_view(audit[0])["usage"]["output_tokens"] == parsed.usage.output_tokens
    )
    assert "hunter2" not in everything
    assert "hunter2" not in gateway.stderr_text()
    assert gateway.admin_key not in gateway.stderr_text()
    # tutela_sk_<id>_<secret>: the secret is base64url and may hold "_" itself
    assert gateway.admin_key.split("_", 3)[3] not in everything

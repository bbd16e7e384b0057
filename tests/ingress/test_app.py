"""The gateway ASGI app in-process: routes, errors, relays, and fuzzed malformed input."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutela.testing.asgi import call
from tutela.testing.audit import request_view
from tutela.types import Finding, Verdict

GOOD = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 50,
    "messages": [{"role": "user", "content": "hi"}],
}
ALLOWED_STATUSES = {200, 400, 401, 403, 404, 405, 413, 429}


def assert_anthropic_error(response, status: int, error_type: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status == status, response.body
    body = orjson.loads(response.body)
    assert body["type"] == "error" and body["error"]["type"] == error_type
    assert body["request_id"].startswith("req_tut_")
    assert body["request_id"] == response.headers["request-id"]
    assert body["request_id"] in body["error"]["message"]  # the audit id users can quote
    return body


async def test_messages_json(harness) -> None:  # type: ignore[no-untyped-def]
    response = await call(
        harness.app, "POST", "/v1/messages", headers=harness.headers(), body=orjson.dumps(GOOD)
    )
    assert response.status == 200
    message = orjson.loads(response.body)
    assert message["type"] == "message" and message["usage"]["output_tokens"] > 0
    assert response.headers["x-tutela-request-id"].startswith("req_tut_")


async def test_body_sent_in_many_chunks(harness) -> None:  # type: ignore[no-untyped-def]
    response = await call(
        harness.app,
        "POST",
        "/v1/messages",
        headers=harness.headers(),
        body=orjson.dumps(GOOD),
        chunk_size=7,
    )
    assert response.status == 200


async def test_stream_relays_every_event_in_order(harness) -> None:  # type: ignore[no-untyped-def]
    response = await call(
        harness.app,
        "POST",
        "/v1/messages",
        headers=harness.headers(),
        body=orjson.dumps({**GOOD, "stream": True}),
    )
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [
        block.split("\n", 1)[0].removeprefix("event: ")
        for block in response.body.decode().strip().split("\n\n")
    ]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert names[-2] == "message_delta"
    assert "content_block_start" in names and "content_block_stop" in names


@pytest.mark.parametrize(
    ("method", "path", "status", "error_type"),
    [
        ("GET", "/v1/admin/keys", 404, "not_found_error"),
        ("GET", "/healthz", 404, "not_found_error"),
        ("GET", "/metrics", 404, "not_found_error"),
        ("GET", "/v1/messages", 405, "invalid_request_error"),
        ("DELETE", "/v1/models", 405, "invalid_request_error"),
    ],
)
async def test_unknown_routes_and_admin_paths_are_not_served(
    harness,
    method: str,
    path: str,  # type: ignore[no-untyped-def]
    status: int,
    error_type: str,
) -> None:
    response = await call(harness.app, method, path, headers=harness.headers())
    body = assert_anthropic_error(response, status, error_type)
    await harness.gateway.writer.flush()
    audited = request_view(harness.store.audit_events("api.request")[0]["data"])
    assert audited["request_id"] == body["request_id"] and audited["status"] == status


async def test_missing_and_wrong_keys(harness) -> None:  # type: ignore[no-untyped-def]
    response = await call(harness.app, "POST", "/v1/messages", body=orjson.dumps(GOOD))
    assert_anthropic_error(response, 401, "authentication_error")
    wrong = harness.key[:-4] + "AAAA"
    response = await call(
        harness.app, "POST", "/v1/messages", headers=harness.headers(wrong), body=orjson.dumps(GOOD)
    )
    body = assert_anthropic_error(response, 401, "authentication_error")
    assert wrong not in response.body.decode() and "AAAA" not in body["error"]["message"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1,2]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
async def test_unparseable_bodies(harness, body: bytes, text: str) -> None:  # type: ignore[no-untyped-def]
    response = await call(harness.app, "POST", "/v1/messages", headers=harness.headers(), body=body)
    assert (
        text in assert_anthropic_error(response, 400, "invalid_request_error")["error"]["message"]
    )


async def test_oversized_bodies_are_refused_with_413(harness) -> None:  # type: ignore[no-untyped-def]
    big = orjson.dumps({**GOOD, "system": "x" * 70_000})
    response = await call(harness.app, "POST", "/v1/messages", headers=harness.headers(), body=big)
    assert_anthropic_error(response, 413, "request_too_large")
    declared = [*harness.headers(), (b"content-length", b"99999999")]
    response = await call(harness.app, "POST", "/v1/messages", headers=declared, body=b"{}")
    assert_anthropic_error(response, 413, "request_too_large")
    chunked = await call(
        harness.app, "POST", "/v1/messages", headers=harness.headers(), body=big, chunk_size=4096
    )
    assert_anthropic_error(chunked, 413, "request_too_large")


async def test_a_faulty_guard_fails_closed_with_an_audited_500(harness) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        name = "broken"
        on_error = "block"

        async def check_request(self, exchange):  # type: ignore[no-untyped-def]
            raise RuntimeError("kaboom")

    harness.gateway.pipeline.request_guards = (*harness.gateway.pipeline.request_guards, Broken())
    response = await call(
        harness.app, "POST", "/v1/messages", headers=harness.headers(), body=orjson.dumps(GOOD)
    )
    body = assert_anthropic_error(response, 500, "api_error")
    assert "broken" in body["error"]["message"] and "fails closed" in body["error"]["message"]
    await harness.gateway.writer.flush()
    events = harness.store.audit_events("api.request")
    data = request_view(events[0]["data"])
    assert data["request_id"] == body["request_id"]
    assert any(v["guard"] == "broken" and v["error"] for v in data["verdicts"])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "model": json_values | st.just("claude-sonnet-4-6"),
        "max_tokens": json_values | st.integers(min_value=-5, max_value=300_000),
        "messages": json_values
        | st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "x"]),
                    "content": json_values | st.text(max_size=30),
                }
            ),
            max_size=3,
        ),
        "stream": json_values,
        "system": json_values,
        "tools": json_values
        | st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=10), "input_schema": json_values}),
            max_size=2,
        ),
        "tool_choice": json_values,
        "stop_sequences": json_values,
        "thinking": json_values,
    },
)
FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=fields, endpoint=st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]))
async def test_fuzzed_request_bodies_never_cause_a_server_error(harness, body, endpoint) -> None:  # type: ignore[no-untyped-def]
    response = await call(
        harness.app, "POST", endpoint, headers=harness.headers(), body=orjson.dumps(body)
    )
    assert response.status in ALLOWED_STATUSES, response.body
    if response.status != 200:
        assert orjson.loads(response.body)["type"] == "error"


@FUZZ
@given(raw=st.binary(max_size=300))
async def test_fuzzed_raw_bytes_never_cause_a_server_error(harness, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    response = await call(harness.app, "POST", "/v1/messages", headers=harness.headers(), body=raw)
    assert response.status in ALLOWED_STATUSES


header_value = st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@FUZZ
@given(
    extra=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    b"x-api-key",
                    b"authorization",
                    b"anthropic-version",
                    b"anthropic-beta",
                    b"content-length",
                    b"content-type",
                    b"x-other",
                ]
            ),
            header_value,
        ),
        max_size=5,
    ),
    use_key=st.booleans(),
    path=st.sampled_from(
        ["/v1/messages", "/v1/models", "/v1/models/x%00y", "/v1/messages/count_tokens"]
    ),
    method=st.sampled_from(["GET", "POST", "PUT"]),
)
async def test_fuzzed_headers_never_cause_a_server_error(
    harness, extra, use_key, path, method
) -> None:  # type: ignore[no-untyped-def]
    headers = (harness.headers() if use_key else []) + extra
    response = await call(harness.app, method, path, headers=headers, body=orjson.dumps(GOOD))
    assert response.status in ALLOWED_STATUSES, response.body


async def test_a_response_guard_can_stop_a_stream_midway(harness) -> None:  # type: ignore[no-untyped-def]
    class StopAfterTwoDeltas:
        name = "stopper"
        on_error = "block"

        def check_message(self, exchange, message):  # type: ignore[no-untyped-def]
            return Verdict.allow()

        def check_event(self, exchange, event):  # type: ignore[no-untyped-def]
            seen = exchange.scratch.setdefault("stopper", 0)
            if event.event == "content_block_delta":
                exchange.scratch["stopper"] = seen + 1
                if seen + 1 == 3:
                    return Verdict.block("leak detected in output", Finding(cls="output.leak"))
            return Verdict.allow()

        def finish(self, exchange) -> None:  # type: ignore[no-untyped-def]
            return None

    pipeline = harness.gateway.pipeline
    pipeline.response_guards = (*pipeline.response_guards, StopAfterTwoDeltas())
    response = await call(
        harness.app,
        "POST",
        "/v1/messages",
        headers=harness.headers(),
        body=orjson.dumps({**GOOD, "stream": True}),
    )
    blocks = response.body.decode().strip().split("\n\n")
    names = [b.split("\n", 1)[0].removeprefix("event: ") for b in blocks]
    assert names.count("content_block_delta") == 2
    assert names[-1] == "error" and "message_stop" not in names
    error = orjson.loads(blocks[-1].split("data: ", 1)[1])
    assert error["error"]["type"] == "permission_error"
    assert "leak detected in output" in error["error"]["message"]
    assert error["request_id"] in error["error"]["message"]
    await harness.gateway.writer.flush()
    event = request_view(harness.store.audit_events("api.request")[0]["data"])
    assert event["status"] == 200 and event["error_type"] == "permission_error"
    assert any(
        v["guard"] == "stopper" and v["action"] == "block" and v["classes"] == ["output.leak"]
        for v in event["verdicts"]
    )


async def test_models_are_listed_only_when_the_allow_lists_admit_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tutela.gateway import Gateway
    from tutela.identity.api_keys import mint_key
    from tutela.ingress.app import GatewayApp
    from tutela.policy import parse_policy
    from tutela.store.database import Store

    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.migrate()
    store.create_workspace("default")
    key = mint_key(store, workspace="default", role="analyst").secret
    gateway = Gateway(parse_policy("guards:\n  limits: {allowed_models: ['claude-sonnet-*']}\n"), store)
    await gateway.start()
    try:
        app = GatewayApp(gateway)
        headers = [(b"x-api-key", key.encode())]
        listed = await call(app, "GET", "/v1/models", headers=headers)
        ids = [m["id"] for m in orjson.loads(listed.body)["data"]]
        assert listed.status == 200 and ids == ["claude-sonnet-4-6"]
        assert orjson.loads(listed.body)["first_id"] == "claude-sonnet-4-6"
        hidden = await call(app, "GET", "/v1/models/claude-opus-4-7", headers=headers)
        assert_anthropic_error(hidden, 404, "not_found_error")
        shown = await call(app, "GET", "/v1/models/claude-sonnet-4-6", headers=headers)
        assert shown.status == 200
    finally:
        await gateway.stop()
        store.close()

"""The data-protection guard: actions by class, precedence, what is scanned, restoration."""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tutela.errors import ErrorKind
from tutela.guard import RequestGuard, ResponseGuard
from tutela.guards.dlp import DlpGuard, _scan_parts, pointer, request_texts
from tutela.pipeline import Pipeline
from tutela.policy import DlpSettings, parse_policy
from tutela.testing.asgi import call
from tutela.testing.audit import request_view
from tutela.types import Action, Exchange, Principal, StreamEvent

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"
AWS = "AKIAQ3EGR7MBX2LT5NPW"
VALUES = (CARD, EMAIL, AWS, "4111111111111111", "jane.doe")


def settings(yaml: str = "") -> DlpSettings:
    return parse_policy("guards:\n  dlp:\n" + yaml if yaml else "").guards.dlp


def guard(yaml: str = "") -> DlpGuard:
    return DlpGuard(settings(yaml))


def exchange(
    body: dict[str, Any], *, workspace: str = "default", role: str = "analyst"
) -> Exchange:
    return Exchange(
        request_id="req_test",
        endpoint="messages",
        method="POST",
        headers={},
        raw_body=b"",
        body=body,
        principal=Principal(key_id="k1", workspace_id="w1", workspace=workspace, role=role),
    )


def body(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


def no_values(*texts: str) -> None:
    for text in texts:
        for value in VALUES:
            assert value not in text


def test_is_both_a_request_and_a_response_guard() -> None:
    dlp = guard()
    assert isinstance(dlp, RequestGuard) and isinstance(dlp, ResponseGuard)
    assert dlp.name == "dlp" and dlp.on_error == "block"
    assert "hyperscan" in dlp.scanner.engine_note or "python" in dlp.scanner.engine_note


def test_the_scanner_is_built_once_per_configuration() -> None:
    assert guard().scanner is guard().scanner


async def test_clean_request_is_allowed_untouched() -> None:
    original = body("What does a security gateway do?")
    ex = exchange(original)
    verdict = await guard().check_request(ex)
    assert verdict.action is Action.ALLOW and not verdict.findings
    assert ex.data_protection is not None and ex.data_protection.as_dict() == {
        "classes": {},
        "actions": {},
    }
    assert "dlp" not in ex.scratch


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("allow", f"pay with {CARD} now"),
        ("mask", "pay with **** **** **** 1111 now"),
        ("redact", "pay with [REDACTED:fin.credit_card] now"),
        ("pseudonymise", "pay with [CARD_1] now"),
        ("pseudonymize", "pay with [CARD_1] now"),
    ],
)
async def test_each_transforming_action(action: str, expected: str) -> None:
    original = body(f"pay with {CARD} now")
    snapshot = copy.deepcopy(original)
    ex = exchange(original)
    verdict = await guard(f'    actions: {{"fin.*": {action}}}\n').check_request(ex)
    assert original == snapshot  # never mutated
    if action == "allow":
        assert verdict.action is Action.ALLOW and verdict.body is None
    else:
        assert verdict.action is Action.TRANSFORM and verdict.body is not None
        assert verdict.body["messages"][0]["content"] == expected
        no_values(verdict.reason)
    (finding,) = verdict.findings
    assert finding.cls == "fin.credit_card" and finding.pointer == "/messages/0/content"
    assert (finding.start, finding.end) == (9, 9 + len(CARD)) and finding.score > 0.9
    assert ex.data_protection is not None
    assert ex.data_protection.as_dict() == {
        "classes": {"fin.credit_card": 1},
        "actions": {"fin.credit_card": "pseudonymise" if action == "pseudonymize" else action},
    }


async def test_block_names_classes_and_counts_never_values() -> None:
    ex = exchange(body(f"card {CARD} and {CARD}, key {AWS}, mail {EMAIL}"))
    verdict = await guard('    actions: {"fin.*": block}\n').check_request(ex)
    assert verdict.blocked and verdict.error is ErrorKind.POLICY_VIOLATION
    assert verdict.reason == (
        "request blocked by data protection policy: fin.credit_card (2), secret.aws_access_key (1)"
    )
    no_values(verdict.reason, repr(verdict.findings))
    assert ex.data_protection is not None
    assert ex.data_protection.classes == {
        "fin.credit_card": 2,
        "secret.aws_access_key": 1,
        "pii.email": 1,
    }


async def test_secrets_are_blocked_by_default_even_when_other_actions_are_set() -> None:
    verdict = await guard('    actions: {"*": allow}\n').check_request(
        exchange(body(f"my key is {AWS}"))
    )
    assert verdict.blocked and "secret.aws_access_key (1)" in verdict.reason


async def test_default_policy_pseudonymises_cards_and_emails() -> None:
    verdict = await guard().check_request(exchange(body(f"{EMAIL} paid with {CARD}")))
    assert verdict.action is Action.TRANSFORM and verdict.body is not None
    assert verdict.body["messages"][0]["content"] == "[EMAIL_1] paid with [CARD_1]"


PRECEDENCE = """\
    actions: {"fin.*": block}
    roles:
      auditor: {actions: {"fin.credit_card": mask}}
    workspaces:
      payments:
        actions: {"fin.*": redact}
        roles:
          auditor: {actions: {"*": allow}}
"""


@pytest.mark.parametrize(
    ("workspace", "role", "expected"),
    [
        ("default", "analyst", "block"),  # the default map
        ("payments", "analyst", "redact"),  # workspace beats the default map
        ("default", "auditor", "mask"),  # role beats the default map
        ("payments", "auditor", "allow"),  # workspace+role beats everything
    ],
)
def test_precedence_workspace_role(workspace: str, role: str, expected: str) -> None:
    dlp = guard(PRECEDENCE)
    assert dlp.resolver.action("fin.credit_card", workspace, role) == expected


def test_role_beats_workspace_only_where_it_says_something() -> None:
    dlp = guard(
        '    roles:\n      analyst: {actions: {"pii.email": allow}}\n'
        '    workspaces:\n      legal: {actions: {"fin.*": block, "pii.*": redact}}\n'
    )
    assert dlp.resolver.action("fin.credit_card", "legal", "analyst") == "block"
    assert dlp.resolver.action("pii.email", "legal", "analyst") == "allow"
    assert dlp.resolver.action("pii.phone", "legal", "analyst") == "redact"
    assert dlp.resolver.action("secret.jwt", "legal", "analyst") == "block"


async def test_precedence_applies_to_requests() -> None:
    dlp = guard(PRECEDENCE)
    blocked = await dlp.check_request(exchange(body(CARD), workspace="default"))
    assert blocked.blocked
    allowed = await dlp.check_request(exchange(body(CARD), workspace="payments", role="auditor"))
    assert allowed.action is Action.ALLOW and allowed.findings


RICH = body(
    [
        {"type": "text", "text": f"mail {EMAIL}"},
        {"type": "thinking", "thinking": f"card {CARD}", "signature": "sig"},
        {"type": "redacted_thinking", "data": f"card {CARD}"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": CARD}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": f"card {CARD}"},
            "title": "notes",
        },
        {"type": "tool_result", "tool_use_id": "t1", "content": f"card {CARD}"},
        {
            "type": "tool_result",
            "tool_use_id": "t2",
            "content": [{"type": "text", "text": f"mail {EMAIL}"}],
        },
        {"type": "tool_use", "id": "t3", "name": "pay", "input": {"a/b": [{"card": CARD}]}},
        {
            "type": "search_result",
            "title": f"contact {EMAIL}",
            "source": "https://example.com",
            "content": [{"type": "text", "text": f"card {CARD}"}],
        },
    ],
    system=[{"type": "text", "text": f"Card on file: {CARD}"}],
)


def test_what_is_scanned_and_what_is_not() -> None:
    paths = {pointer(path) for path, _ in request_texts(RICH)}
    assert paths == {
        "/system/0/text",
        "/messages/0/content/0/text",
        "/messages/0/content/4/source/data",
        "/messages/0/content/4/title",
        "/messages/0/content/5/content",
        "/messages/0/content/6/content/0/text",
        "/messages/0/content/7/input/a~1b/0/card",
        "/messages/0/content/8/title",
        "/messages/0/content/8/content/0/text",
    }
    assert {pointer(p) for p, _ in request_texts(body("x", system="sys"))} == {
        "/system",
        "/messages/0/content",
    }


async def test_thinking_untouched_tool_results_and_inputs_transformed() -> None:
    original = copy.deepcopy(RICH)
    verdict = await guard().check_request(exchange(original))
    assert original == RICH
    assert verdict.action is Action.TRANSFORM and verdict.body is not None
    new = verdict.body
    blocks = new["messages"][0]["content"]
    assert new["system"][0]["text"] == "Card on file: [CARD_1]"
    assert blocks[0]["text"] == "mail [EMAIL_1]"
    assert blocks[1] is original["messages"][0]["content"][1]  # thinking: the very same object
    assert blocks[2] is original["messages"][0]["content"][2]
    assert blocks[3] is original["messages"][0]["content"][3]
    assert blocks[4]["source"]["data"] == "card [CARD_1]"
    assert blocks[5]["content"] == "card [CARD_1]"
    assert blocks[6]["content"][0]["text"] == "mail [EMAIL_1]"
    assert blocks[7]["input"] == {"a/b": [{"card": "[CARD_1]"}]}
    pointers = {f.pointer for f in verdict.findings}
    assert "/messages/0/content/7/input/a~1b/0/card" in pointers
    assert not any("/1/" in p or "/2/" in p or "/3/" in p for p in pointers)
    no_values(verdict.reason, repr(verdict.findings))


async def test_count_tokens_is_scanned_models_is_not() -> None:
    dlp = guard()
    ex = exchange(body(f"key {AWS}"))
    ex.endpoint = "count_tokens"
    assert (await dlp.check_request(ex)).blocked
    ex = exchange(body(f"key {AWS}"))
    ex.endpoint = "models"
    assert (await dlp.check_request(ex)).action is Action.ALLOW


# ---------------------------------------------------------------- response restoration


async def pseudonymised(dlp: DlpGuard, text: str) -> Exchange:
    ex = exchange(body(text))
    verdict = await dlp.check_request(ex)
    assert verdict.action is Action.TRANSFORM
    return ex


async def test_message_restored_in_text_and_tool_input() -> None:
    dlp = guard()
    ex = await pseudonymised(dlp, f"write to {EMAIL}")
    message = {
        "type": "message",
        "content": [
            {"type": "text", "text": "I will mail [EMAIL_1], not [EMAIL_2]."},
            {"type": "thinking", "thinking": "[EMAIL_1]", "signature": "s"},
            {"type": "tool_use", "id": "t", "name": "send", "input": {"to": ["[EMAIL_1]"]}},
        ],
    }
    snapshot = copy.deepcopy(message)
    verdict = dlp.check_message(ex, message)
    assert message == snapshot
    assert verdict.action is Action.TRANSFORM and verdict.body is not None
    content = verdict.body["content"]
    assert content[0]["text"] == f"I will mail {EMAIL}, not [EMAIL_2]."
    assert content[1]["thinking"] == "[EMAIL_1]"
    assert content[2]["input"] == {"to": [EMAIL]}


async def test_fast_path_when_nothing_was_pseudonymised() -> None:
    dlp = guard('    actions: {"pii.email": redact}\n')
    ex = exchange(body(f"write to {EMAIL}"))
    await dlp.check_request(ex)
    message = {"content": [{"type": "text", "text": "[EMAIL_1]"}]}
    assert dlp.check_message(ex, message).action is Action.ALLOW
    event = StreamEvent.of("content_block_start", {"index": 0, "content_block": {"type": "text"}})
    assert dlp.check_event(ex, event).action is Action.ALLOW


def text_stream(pieces: list[str], kind: str = "text") -> list[StreamEvent]:
    delta_type, field = (
        ("text_delta", "text") if kind == "text" else ("input_json_delta", "partial_json")
    )
    block = (
        {"type": "text", "text": ""}
        if kind == "text"
        else {
            "type": "tool_use",
            "id": "t",
            "name": "send",
            "input": {},
        }
    )
    events = [
        StreamEvent.of("message_start", {"type": "message_start", "message": {"content": []}}),
        StreamEvent.of(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
    ]
    events += [
        StreamEvent.of(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": delta_type, field: p}},
        )
        for p in pieces
    ]
    events += [
        StreamEvent.of("content_block_stop", {"type": "content_block_stop", "index": 0}),
        StreamEvent.of("message_stop", {"type": "message_stop"}),
    ]
    return events


def relay(pipeline: Pipeline, ex: Exchange, events: list[StreamEvent]) -> tuple[str, list[str]]:
    """Run events through the pipeline; return the joined deltas and the event names out."""
    from tutela.ingress.sse import SseSplitter

    out = b""
    for event in events:
        verdict, raw = pipeline.check_event(ex, event)
        assert verdict is None
        out += raw
    text, names = "", []
    for event in SseSplitter().feed(out):
        names.append(event.event)
        assert event.data is not None
        delta = event.data.get("delta", {})
        text += delta.get("text", "") + delta.get("partial_json", "")
    return text, names


async def test_stream_restores_a_placeholder_split_at_every_boundary() -> None:
    dlp = guard()
    pipeline = Pipeline([dlp], [dlp])
    reply = "Sure: [EMAIL_1] and [CARD_1]; not [EMAIL_9] or [brackets]. [EMAIL_1]"
    expected = f"Sure: {EMAIL} and {CARD}; not [EMAIL_9] or [brackets]. {EMAIL}"
    for cut in range(len(reply) + 1):
        for cut2 in (cut, min(len(reply), cut + 3)):
            ex = await pseudonymised(dlp, f"{EMAIL} {CARD}")
            pieces = [reply[:cut], reply[cut:cut2], reply[cut2:]]
            text, names = relay(pipeline, ex, text_stream(pieces))
            assert text == expected, (cut, cut2)
            assert names[0] == "message_start" and names[-2:] == [
                "content_block_stop",
                "message_stop",
            ]


async def test_stream_restores_tool_input_json_with_escaping() -> None:
    dlp = guard()
    pipeline = Pipeline([dlp], [dlp])
    ex = await pseudonymised(dlp, f"write to {EMAIL}")
    raw = orjson.dumps({"to": "[EMAIL_1]", "note": "x"}).decode()
    for cut in range(len(raw) + 1):
        ex = await pseudonymised(dlp, f"write to {EMAIL}")
        text, _ = relay(pipeline, ex, text_stream([raw[:cut], raw[cut:]], kind="tool"))
        assert orjson.loads(text) == {"to": EMAIL, "note": "x"}


async def test_held_back_tail_is_flushed_before_the_stop_event() -> None:
    dlp = guard()
    pipeline = Pipeline([dlp], [dlp])
    ex = await pseudonymised(dlp, f"write to {EMAIL}")
    text, names = relay(pipeline, ex, text_stream(["ends with [EMA"]))
    assert text == "ends with [EMA"
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_stop",
    ]
    transforms = [r for r in ex.records if r.phase == "stream"]
    assert len(transforms) <= 2  # one record per kind of transform, not one per event


async def test_one_conversations_placeholders_never_restore_in_another() -> None:
    dlp = guard()
    first = await pseudonymised(dlp, f"mail {EMAIL}")
    second = await pseudonymised(dlp, "mail other.person@example.org")
    clean = exchange(body("hello"))
    await dlp.check_request(clean)
    message = {"content": [{"type": "text", "text": "to [EMAIL_1]"}]}
    restored = dlp.check_message(second, message)
    assert restored.body is not None
    assert restored.body["content"][0]["text"] == "to other.person@example.org"
    assert dlp.check_message(clean, message).action is Action.ALLOW
    first_out = dlp.check_message(first, message).body
    assert first_out is not None and first_out["content"][0]["text"] == f"to {EMAIL}"
    dlp.finish(first)
    assert dlp.check_message(first, message).action is Action.ALLOW  # the vault is gone


# ---------------------------------------------------------------- through the gateway


async def post(harness: Any, payload: dict[str, Any]) -> Any:
    return await call(
        harness.app, "POST", "/v1/messages", headers=harness.headers(), body=orjson.dumps(payload)
    )


async def audit(harness: Any) -> list[dict[str, Any]]:
    await harness.gateway.writer.flush()
    return [request_view(e["data"]) for e in harness.store.audit_events("api.request")]


async def test_json_round_trip_through_the_gateway(harness: Any) -> None:
    response = await post(harness, body(f"Please write to {EMAIL} about card {CARD} today"))
    assert response.status == 200, response.body
    text = orjson.loads(response.body)["content"][0]["text"]
    assert text.startswith(f"Offline model reply to: Please write to {EMAIL} about card {CARD}")
    assert "[EMAIL_1]" not in text and "[CARD_1]" not in text
    (event,) = await audit(harness)
    assert event["dlp"] == {
        "classes": {"pii.email": 1, "fin.credit_card": 1},
        "actions": {"pii.email": "pseudonymise", "fin.credit_card": "pseudonymise"},
    }
    verdict = next(v for v in event["verdicts"] if v["guard"] == "dlp" and v["phase"] == "request")
    assert verdict["action"] == "transform"
    assert sorted(verdict["classes"]) == ["fin.credit_card", "pii.email"]
    no_values(orjson.dumps(event).decode())


async def test_stream_round_trip_through_the_gateway(harness: Any) -> None:
    from tutela.ingress.sse import SseSplitter

    payload = body(f"Mail {EMAIL} now", stream=True)
    plain = await post(harness, body(f"Mail {EMAIL} now"))
    response = await post(harness, payload)
    assert response.status == 200
    text = ""
    for event in SseSplitter().feed(response.body):
        if event.event == "content_block_delta" and event.data:
            text += event.data["delta"].get("text", "")
    assert text == orjson.loads(plain.body)["content"][0]["text"]
    assert text.startswith(f"Offline model reply to: Mail {EMAIL} now.")


async def test_blocked_request_through_the_gateway(harness: Any) -> None:
    response = await post(harness, body(f"deploy with {AWS}"))
    assert response.status == 403
    error = orjson.loads(response.body)["error"]
    assert error["type"] == "permission_error"
    assert error["message"].startswith(
        "request blocked by data protection policy: secret.aws_access_key (1)"
    )
    no_values(response.body.decode())
    (event,) = await audit(harness)
    assert event["status"] == 403 and event["error_type"] == "permission_error"
    assert event["dlp"]["actions"] == {"secret.aws_access_key": "block"}
    no_values(orjson.dumps(event).decode())


async def test_guard_cost_on_a_typical_prompt_is_small() -> None:
    dlp = guard()
    prompt = (
        "You are reviewing a pull request for our billing service. The change moves invoice "
        "rendering into a background worker, adds retries with exponential backoff, and "
        "updates the tests. Please check the error handling, whether the retry budget is "
        "bounded, and whether any log line could include customer data. Summarise the risks "
        "in three bullet points, then suggest one test we are missing. "
    ) * 2
    payload = body(prompt[:1024], system="You are a careful senior engineer.")
    ex = exchange(payload)
    for _ in range(50):
        await dlp.check_request(ex)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            await dlp.check_request(ex)
        runs.append((time.perf_counter() - start) / 200)
    assert min(runs) < 0.002  # generous for slow CI; measured ~25 µs on the dev VM


FRAGMENTS = [
    "alice@example.com",
    "4111 1111 1111 1111",
    "SSN 123-45-6789",
    "call +1 415 555 0132",
    "AKIAQ3EGR7MBX2LT5NPW",
    "10.0.0.12",
    "Dr. Jane Smith",
    "phone:",
    "card",
    "\n",
    " ",
    "order 1234-5678",
    "DE89 3704 0044 0532 0130 00",
    "password=hunter2secret",
    "the",
    ".",
]


@given(
    parts=st.lists(
        st.lists(st.sampled_from(FRAGMENTS), max_size=8).map(" ".join), min_size=2, max_size=5
    )
)
@hsettings(max_examples=150, deadline=None)
def test_one_pass_over_all_parts_finds_what_part_by_part_scans_find(parts: list[str]) -> None:
    scanner = _shared_guard().scanner
    keyed = [((("messages", i, "content")), text) for i, text in enumerate(parts)]
    joined = {(path, tuple(spans)) for path, _text, spans in _scan_parts(scanner, keyed)}
    separate = {(path, tuple(scanner.scan(text))) for path, text in keyed if scanner.scan(text)}
    assert joined == separate


@functools.cache
def _shared_guard() -> DlpGuard:
    return guard()


async def test_a_role_limited_by_identity_may_not_send_other_classes() -> None:
    """``identity.role_data_classes``: the analyst may send only personal data, so an
    internal address (allowed by the DLP actions) is refused for it, not for an admin."""
    from tutela.pipeline import default_guards

    class Services:
        counters = None

    policy = parse_policy(
        "guards: {rate_limits: {enabled: false}}\n"
        "identity:\n  role_data_classes: {analyst: ['pii.*']}\n"
    )
    pipeline = default_guards(policy, Services())
    dlp = next(g for g in pipeline.request_guards if g.name == "dlp")
    text = f"mail {EMAIL} from host 10.1.2.3"
    analyst = await dlp.check_request(exchange(body(text), role="analyst"))
    assert analyst.blocked
    assert analyst.reason.endswith("(role 'analyst' may not send net.internal_ip)")
    no_values(analyst.reason)
    admin = await dlp.check_request(exchange(body(text), role="admin"))
    assert not admin.blocked

"""The offline model answers the Messages API deterministically and consistently."""

from __future__ import annotations

import copy
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.upstream import offline
from tutela.upstream.offline import (
    OFFLINE_MODELS,
    OfflineFault,
    count_tokens,
    create_message,
    get_model,
    list_models,
    stream_message,
)

WEATHER_TOOL: dict[str, Any] = {
    "name": "get_weather",
    "description": "Get the current weather for a location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 3, "maximum": 10},
            "ratio": {"type": "number"},
            "detailed": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {
                "type": "object",
                "properties": {
                    "lat": {"type": "number"},
                    "lon": {"type": "number"},
                    "label": {"type": ["string", "null"]},
                },
                "required": ["lat", "lon"],
            },
            "optional_note": {"type": "string"},
        },
        "required": ["location", "unit", "days", "ratio", "detailed", "tags", "where"],
    },
}
SEARCH_TOOL: dict[str, Any] = {
    "name": "search",
    "description": "Search the web",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
    },
}


def body(text: str = "What is the capital of France?", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-6",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


# ---------------------------------------------------------------------- helpers


def parse_sse(chunks: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for raw in b"".join(chunks).split(b"\n\n"):
        if not raw:
            continue
        lines = raw.split(b"\n")
        assert lines[0].startswith(b"event: ")
        assert lines[1].startswith(b"data: ")
        assert len(lines) == 2
        events.append((lines[0][7:].decode(), orjson.loads(lines[1][6:])))
    return events


def reassemble(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Rebuild a Message from stream events the way the SDKs do."""
    message: dict[str, Any] = {}
    json_bufs: dict[int, str] = {}
    for name, data in events:
        assert data["type"] == name
        if name == "message_start":
            message = copy.deepcopy(data["message"])
        elif name == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(copy.deepcopy(data["content_block"]))
        elif name == "content_block_delta":
            block = message["content"][data["index"]]
            delta = data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            else:
                assert delta["type"] == "input_json_delta"
                json_bufs[data["index"]] = json_bufs.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop":
            if data["index"] in json_bufs:
                message["content"][data["index"]]["input"] = orjson.loads(
                    json_bufs.pop(data["index"])
                )
        elif name == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["stop_sequence"] = data["delta"]["stop_sequence"]
            message["usage"].update(data["usage"])
    return message


def assert_event_order(names: list[str]) -> None:
    assert names[0] == "message_start"
    assert names[1] == "ping"
    assert names[-2:] == ["message_delta", "message_stop"]
    middle = names[2:-2]
    i = 0
    while i < len(middle):
        assert middle[i] == "content_block_start", names
        i += 1
        deltas = 0
        while middle[i] == "content_block_delta":
            deltas += 1
            i += 1
        assert deltas >= 1, names
        assert middle[i] == "content_block_stop", names
        i += 1


def check_schema(value: Any, schema: dict[str, Any]) -> None:
    """A small JSON-schema checker covering what the offline model generates."""
    if "enum" in schema:
        assert value in schema["enum"]
    kind = schema.get("type")
    kinds: list[Any] = kind if isinstance(kind, list) else [kind]
    if kind is None:
        return
    if value is None:
        assert "null" in kinds
        return
    py: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    assert any(isinstance(value, py[k]) for k in kinds if k != "null"), (value, schema)
    if "integer" in kinds or "number" in kinds:
        assert not isinstance(value, bool)
        if "minimum" in schema:
            assert value >= schema["minimum"]
        if "maximum" in schema:
            assert value <= schema["maximum"]
    if isinstance(value, list) and "items" in schema:
        for item in value:
            check_schema(item, schema["items"])
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, (name, value)
        for name, item in value.items():
            assert name in props
            check_schema(item, props[name])


# ---------------------------------------------------------------------- messages


def test_message_shape_and_usage() -> None:
    b = body()
    message = create_message(b, "msg_test")
    assert message["id"] == "msg_test"
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "claude-sonnet-4-6"
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None
    [block] = message["content"]
    assert block["type"] == "text"
    assert block["text"].startswith("Offline model reply to: What is the capital of France?")
    assert len(block["text"].split()) < 80
    usage = message["usage"]
    assert usage == {
        "input_tokens": count_tokens(b),
        "output_tokens": usage["output_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    # ~4 chars per token for the output too.
    assert len(block["text"]) / 6 <= usage["output_tokens"] <= len(block["text"]) / 3


def test_any_model_string_is_echoed() -> None:
    assert create_message(body(model="my-own-model-9"), "m")["model"] == "my-own-model-9"


def test_deterministic_and_input_dependent() -> None:
    a1 = create_message(body("tell me about owls"), "a")
    a2 = create_message(body("tell me about owls"), "b")
    other = create_message(body("tell me about trains"), "c")
    assert {**a1, "id": ""} == {**a2, "id": ""}
    assert a1["content"] != other["content"]
    assert list(stream_message(body("x"), "s")) == list(stream_message(body("x"), "s"))


def test_reply_uses_the_last_user_message_and_truncates_the_snippet() -> None:
    long_text = "word " * 100
    b = {
        "model": "m",
        "max_tokens": 500,
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": long_text}]},
        ],
    }
    text = create_message(b, "m")["content"][0]["text"]
    assert "first question" not in text
    assert text.startswith("Offline model reply to: word word")
    assert "..." in text
    assert len(text.split()) < 80


def test_max_tokens_truncates() -> None:
    full = create_message(body(), "m")
    cut = create_message(body(max_tokens=5), "m")
    assert cut["stop_reason"] == "max_tokens"
    assert cut["usage"]["output_tokens"] == 5
    assert full["content"][0]["text"].startswith(cut["content"][0]["text"])
    assert len(cut["content"][0]["text"]) <= 20


def test_stop_sequence_cuts_the_text() -> None:
    message = create_message(body(stop_sequences=["zzz", "capital"]), "m")
    assert message["stop_reason"] == "stop_sequence"
    assert message["stop_sequence"] == "capital"
    assert message["content"][0]["text"] == "Offline model reply to: What is the "


def test_stop_sequence_absent_keeps_end_turn() -> None:
    message = create_message(body(stop_sequences=["\u2603 never"]), "m")
    assert message["stop_reason"] == "end_turn"
    assert message["stop_sequence"] is None


# ---------------------------------------------------------------------- tools


def test_tool_use_with_schema_valid_input() -> None:
    message = create_message(body("weather in Paris?", tools=[WEATHER_TOOL, SEARCH_TOOL]), "m")
    assert message["stop_reason"] == "tool_use"
    text, tool = message["content"]
    assert text["type"] == "text" and text["text"]
    assert tool["type"] == "tool_use"
    assert tool["id"].startswith("toolu_offline_")
    assert tool["name"] == "get_weather"
    check_schema(tool["input"], WEATHER_TOOL["input_schema"])
    assert tool["input"]["unit"] == "celsius"
    assert tool["input"]["days"] == 3
    assert "optional_note" not in tool["input"]
    assert tool["input"]["where"].keys() == {"lat", "lon"}
    assert message["usage"]["output_tokens"] > count_tokens({"messages": []})


def test_tool_choice_named_and_all_properties_without_required() -> None:
    message = create_message(
        body(tools=[WEATHER_TOOL, SEARCH_TOOL], tool_choice={"type": "tool", "name": "search"}),
        "m",
    )
    tool = message["content"][-1]
    assert tool["name"] == "search"
    assert tool["input"].keys() == {"query", "limit"}
    check_schema(tool["input"], SEARCH_TOOL["input_schema"])


def test_tool_choice_none_answers_with_text() -> None:
    message = create_message(body(tools=[WEATHER_TOOL], tool_choice={"type": "none"}), "m")
    assert message["stop_reason"] == "end_turn"
    assert [b["type"] for b in message["content"]] == ["text"]


def test_tool_result_ends_the_agent_loop() -> None:
    first = create_message(body("weather?", tools=[WEATHER_TOOL]), "m1")
    tool = first["content"][-1]
    follow_up = {
        **body("weather?", tools=[WEATHER_TOOL]),
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": first["content"]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool["id"], "content": "18 C, sunny"}
                ],
            },
        ],
    }
    second = create_message(follow_up, "m2")
    assert second["stop_reason"] == "end_turn"
    [block] = second["content"]
    assert block["type"] == "text"
    assert "get_weather" in block["text"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]


def test_schema_refs_and_unions() -> None:
    schema = {
        "type": "object",
        "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "properties": {
            "p": {"$ref": "#/$defs/point"},
            "either": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
            "fixed": {"const": "v1"},
            "many": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
            "when": {"type": "string", "format": "date-time"},
        },
    }
    tool = {"name": "t", "input_schema": schema}
    value = create_message(body(tools=[tool]), "m")["content"][-1]["input"]
    assert value == {
        "p": {"x": 1},
        "either": True,
        "fixed": "v1",
        "many": [1, 1],
        "when": "2025-01-01T00:00:00Z",
    }


# ---------------------------------------------------------------------- counting


def test_count_tokens_counts_every_text_source() -> None:
    base = count_tokens(body("hi"))
    assert base >= 1
    assert count_tokens({}) == 1
    assert count_tokens(body("hi", system="You are terse. " * 20)) > base + 50
    assert count_tokens(body("hi", system=[{"type": "text", "text": "x" * 400}])) == base + 100
    assert count_tokens(body("hi", tools=[WEATHER_TOOL])) > base + 50

    def with_block(block: dict[str, Any]) -> int:
        return count_tokens(
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}]}
        )

    plain = count_tokens(
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
    )
    assert (
        with_block({"type": "tool_result", "tool_use_id": "t", "content": "y" * 400}) >= plain + 99
    )
    assert (
        with_block(
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "text", "text": "y" * 400}],
            }
        )
        >= plain + 99
    )
    assert with_block({"type": "tool_use", "id": "t", "name": "n", "input": {"k": "z" * 400}}) >= (
        plain + 99
    )
    assert (
        with_block(
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "d" * 400},
            }
        )
        >= plain + 99
    )


def test_count_tokens_has_per_message_overhead() -> None:
    one = count_tokens({"messages": [{"role": "user", "content": "a" * 40}]})
    two = count_tokens(
        {"messages": [{"role": "user", "content": "a" * 20}, {"role": "user", "content": "a" * 20}]}
    )
    assert two == one + 3


# ---------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    "b",
    [
        body(),
        body(max_tokens=4),
        body(stop_sequences=["France"]),
        body("weather?", tools=[WEATHER_TOOL]),
        body(
            "weather?",
            tools=[WEATHER_TOOL, SEARCH_TOOL],
            tool_choice={"type": "tool", "name": "search"},
        ),
    ],
    ids=["text", "max_tokens", "stop_sequence", "tool_use", "named_tool"],
)
def test_stream_reassembles_to_the_message(b: dict[str, Any]) -> None:
    chunks = list(stream_message(b, "msg_s"))
    assert all(c.endswith(b"\n\n") and c.count(b"\n\n") == 1 for c in chunks)
    events = parse_sse(chunks)
    assert_event_order([name for name, _ in events])
    start = events[0][1]["message"]
    assert start["content"] == []
    assert start["stop_reason"] is None
    assert start["usage"]["output_tokens"] == 1
    assert start["usage"]["input_tokens"] == count_tokens(b)
    assert events[-2][1]["usage"] == {
        "output_tokens": create_message(b, "x")["usage"]["output_tokens"]
    }
    assert reassemble(events) == create_message(b, "msg_s")


def test_stream_text_comes_in_several_deltas_and_tool_json_in_pieces() -> None:
    events = parse_sse(list(stream_message(body("weather?", tools=[WEATHER_TOOL]), "m")))
    text_deltas = [d for n, d in events if n == "content_block_delta" and d["index"] == 0]
    json_deltas = [d for n, d in events if n == "content_block_delta" and d["index"] == 1]
    assert len(text_deltas) >= 3
    assert all(len(d["delta"]["text"].split()) <= 3 for d in text_deltas)
    assert len(json_deltas) >= 3
    starts = [d["content_block"] for n, d in events if n == "content_block_start"]
    assert starts[0] == {"type": "text", "text": ""}
    assert starts[1]["type"] == "tool_use" and starts[1]["input"] == {}


def test_midstream_error_event() -> None:
    events = parse_sse(list(stream_message(body("hello [offline:error:midstream] there"), "m")))
    names = [n for n, _ in events]
    assert names[:3] == ["message_start", "ping", "content_block_start"]
    assert "content_block_delta" in names
    assert names[-1] == "error"
    assert "message_stop" not in names and "message_delta" not in names
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


@pytest.mark.parametrize(
    ("marker", "error_type", "status"),
    [
        ("[offline:error:overloaded]", "overloaded_error", 529),
        ("[offline:error:api]", "api_error", 500),
    ],
)
def test_fault_markers(marker: str, error_type: str, status: int) -> None:
    for call in (create_message, stream_message):
        with pytest.raises(OfflineFault) as info:
            call(body(f"please {marker}"), "m")  # stream_message raises eagerly, not on next()
        assert info.value.error_type == error_type
        assert info.value.status == status
        assert info.value.message


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(max_size=300),
    max_tokens=st.integers(min_value=1, max_value=80),
    stops=st.lists(st.text(min_size=1, max_size=4), max_size=2),
    use_tool=st.booleans(),
)
def test_stream_always_matches_create(
    text: str, max_tokens: int, stops: list[str], use_tool: bool
) -> None:
    b = body(text, max_tokens=max_tokens, stop_sequences=stops)
    if use_tool:
        b["tools"] = [WEATHER_TOOL]
    message = create_message(b, "m")
    assert message["usage"]["output_tokens"] <= max_tokens
    events = parse_sse(list(stream_message(b, "m")))
    if message["content"]:
        assert_event_order([n for n, _ in events])
    assert reassemble(events) == message


# ---------------------------------------------------------------------- models


def test_models_catalogue() -> None:
    ids = [m["id"] for m in OFFLINE_MODELS]
    for wanted in (
        "claude-offline-1",
        "claude-sonnet-4-6",
        "claude-opus-4-6",
        "claude-haiku-4-5",
        "claude-haiku-4-5",
    ):
        assert wanted in ids
    for model in OFFLINE_MODELS:
        assert model["type"] == "model"
        assert model["created_at"].endswith("Z") and model["created_at"][4] == "-"
        assert isinstance(model["max_input_tokens"], int)
        assert isinstance(model["max_tokens"], int)
        assert model["display_name"]
    created = [m["created_at"] for m in OFFLINE_MODELS]
    assert created == sorted(created, reverse=True)


def test_list_models_pagination_forward_and_back() -> None:
    ids = [m["id"] for m in OFFLINE_MODELS]
    everything = list_models(None, None, 20)
    assert [m["id"] for m in everything["data"]] == ids
    assert everything["has_more"] is False
    assert (everything["first_id"], everything["last_id"]) == (ids[0], ids[-1])

    page1 = list_models(None, None, 2)
    assert [m["id"] for m in page1["data"]] == ids[:2]
    assert page1["has_more"] is True
    assert (page1["first_id"], page1["last_id"]) == (ids[0], ids[1])
    page2 = list_models(page1["last_id"], None, 2)
    assert [m["id"] for m in page2["data"]] == ids[2:4]
    assert page2["has_more"] is True
    page3 = list_models(page2["last_id"], None, 2)
    assert [m["id"] for m in page3["data"]] == ids[4:]
    assert page3["has_more"] is False

    back = list_models(None, page3["first_id"], 2)
    assert [m["id"] for m in back["data"]] == ids[2:4]
    assert back["has_more"] is True
    back2 = list_models(None, back["first_id"], 2)
    assert [m["id"] for m in back2["data"]] == ids[:2]
    assert back2["has_more"] is False

    between = list_models(ids[0], ids[3], 20)
    assert [m["id"] for m in between["data"]] == ids[1:3]


def test_list_models_edges() -> None:
    assert list_models("no-such-model", None, 5) == {
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }
    last = OFFLINE_MODELS[-1]["id"]
    assert list_models(last, None, 5)["data"] == []
    assert list_models(None, OFFLINE_MODELS[0]["id"], 5)["data"] == []
    assert len(list_models(None, None, 1)["data"]) == 1


def test_get_model_returns_copies() -> None:
    model = get_model("claude-haiku-4-5")
    assert model is not None and model["id"] == "claude-haiku-4-5"
    model["id"] = "mutated"
    again = get_model("claude-haiku-4-5")
    assert again is not None and again["id"] == "claude-haiku-4-5"
    assert get_model("gpt-4") is None
    page = list_models(None, None, 20)
    page["data"][0]["id"] = "mutated"
    assert OFFLINE_MODELS[0]["id"] != "mutated"


# ---------------------------------------------------------------------- speed


def test_create_message_is_fast() -> None:
    b = body("Summarise the attached meeting notes in three bullet points, please.")
    for _ in range(50):
        create_message(b, "m")
    n = 2000
    started = time.perf_counter()
    for _ in range(n):
        create_message(b, "m")
    per_call = (time.perf_counter() - started) / n
    # Typically ~10 µs; the bound leaves room for loaded CI machines.
    assert per_call < 100e-6, f"{per_call * 1e6:.1f} µs per call"


def test_module_has_no_io_imports() -> None:
    with open(offline.__file__, encoding="utf-8") as f:
        source = f.read()
    for forbidden in ("import socket", "import aiohttp", "import httpx", "open(", "import time"):
        assert forbidden not in source


def test_agent_loops_end_after_one_unforced_tool_call() -> None:
    tools = [{"name": "Agent", "input_schema": {"type": "object", "properties": {}}}]
    first = create_message(
        {
            "model": "m",
            "max_tokens": 100,
            "tools": tools,
            "messages": [{"role": "user", "content": "go"}],
        },
        "msg_1",
    )
    assert first["stop_reason"] == "tool_use"
    call = next(b for b in first["content"] if b["type"] == "tool_use")
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": "a new user turn, not a tool result"},
    ]
    second = create_message(
        {"model": "m", "max_tokens": 100, "tools": tools, "messages": history}, "msg_2"
    )
    assert second["stop_reason"] == "end_turn"
    forced = create_message(
        {
            "model": "m",
            "max_tokens": 100,
            "tools": tools,
            "messages": history,
            "tool_choice": {"type": "any"},
        },
        "msg_3",
    )
    assert forced["stop_reason"] == "tool_use"
    assert call["name"] == "Agent"

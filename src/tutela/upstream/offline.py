"""The built-in offline model: a deterministic, in-process stand-in for Claude.

It owns answering Anthropic Messages API calls (messages, streaming, token counting,
the models list) with no network, so tutela can be demoed and tested anywhere. The same
request body always produces the same content, and the streamed events reassemble to
exactly the non-streamed message.

It must never do I/O (network, disk, clock-dependent output), never keep state between
calls, and never validate requests: callers check bodies before they get here, and
anything odd is answered as sensibly as possible rather than refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import orjson

__all__ = [
    "OFFLINE_MODELS",
    "OfflineFault",
    "count_tokens",
    "create_message",
    "get_model",
    "list_models",
    "stream_message",
]


def _model(model_id: str, display_name: str, created_at: str, max_tokens: int) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": created_at,
        "max_input_tokens": 200_000,
        "max_tokens": max_tokens,
    }


# Newest first, as Anthropic lists them.
OFFLINE_MODELS: tuple[dict[str, Any], ...] = (
    _model("claude-offline-1", "Claude Offline 1", "2026-11-01T00:00:00Z", 64_000),
    _model("claude-opus-4-7", "Claude Opus 4.7 (offline)", "2026-06-01T00:00:00Z", 64_000),
    _model("claude-sonnet-4-6", "Claude Sonnet 4.6 (offline)", "2026-02-17T00:00:00Z", 64_000),
    _model("claude-opus-4-6", "Claude Opus 4.6 (offline)", "2026-02-05T00:00:00Z", 64_000),
    _model("claude-haiku-4-5", "Claude Haiku 4.5 (offline)", "2025-10-15T00:00:00Z", 64_000),
)
_MODEL_INDEX: dict[str, int] = {m["id"]: i for i, m in enumerate(OFFLINE_MODELS)}

_MARKER_OVERLOADED = "[offline:error:overloaded]"
_MARKER_API = "[offline:error:api]"
_MARKER_MIDSTREAM = "[offline:error:midstream]"

_MESSAGE_OVERHEAD = 3  # tokens per message, like real counts
_IMAGE_TOKENS = 256  # flat, plausible cost of an image or binary document
_TOOL_USE_OVERHEAD = 8  # output tokens spent on a tool_use block's framing
_DEFAULT_MAX_TOKENS = 4096
_SNIPPET_CHARS = 60
_SCHEMA_DEPTH = 8

_SENTENCES: tuple[str, ...] = (
    "This answer comes from the built-in offline model, so no data left this machine.",
    "Responses are deterministic: the same request always gets the same reply.",
    "Point the gateway at a real upstream to talk to Claude.",
    "Every policy, guard and audit record still applies to this exchange.",
    "Token counts here are estimates of roughly four characters per token.",
    "Streaming and non-streaming calls return the same content.",
)

_WORD_SPLIT = re.compile(r"(?<=\s)(?=\S)")


class OfflineFault(Exception):
    """A deliberate failure the offline model raises when a test marker asks for one."""

    def __init__(self, error_type: str, status: int, message: str = "") -> None:
        self.error_type = error_type
        self.status = status
        self.message = message or f"Offline model simulated {error_type}"
        super().__init__(self.message)


# --------------------------------------------------------------------------- counting


def _tokens(chars: int) -> int:
    return (chars + 3) // 4


def _block_chars(block: Any) -> tuple[int, int]:
    """(characters, flat tokens) for one content block of any known kind."""
    if isinstance(block, str):
        return len(block), 0
    if not isinstance(block, dict):
        return 0, 0
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return (len(text) if isinstance(text, str) else 0), 0
    if kind == "tool_result":
        return _content_chars(block.get("content"))
    if kind in ("tool_use", "server_tool_use"):
        name = block.get("name")
        chars = len(name) if isinstance(name, str) else 0
        return chars + len(orjson.dumps(block.get("input", {}))), 0
    if kind == "thinking":
        thinking = block.get("thinking")
        return (len(thinking) if isinstance(thinking, str) else 0), 0
    if kind in ("document", "search_result"):
        chars, flat = 0, 0
        for key in ("title", "context"):
            value = block.get(key)
            if isinstance(value, str):
                chars += len(value)
        source = block.get("source")
        if isinstance(source, dict):
            stype = source.get("type")
            if stype == "text" and isinstance(source.get("data"), str):
                chars += len(source["data"])
            elif stype == "content":
                c, f = _content_chars(source.get("content"))
                chars, flat = chars + c, flat + f
            else:
                flat += _IMAGE_TOKENS
        elif isinstance(source, str):
            chars += len(source)
        c, f = _content_chars(block.get("content"))
        return chars + c, flat + f
    if kind == "image":
        return 0, _IMAGE_TOKENS
    return 0, 0


def _content_chars(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return len(content), 0
    if not isinstance(content, list):
        return 0, 0
    chars, flat = 0, 0
    for block in content:
        c, f = _block_chars(block)
        chars += c
        flat += f
    return chars, flat


def count_tokens(body: dict[str, Any]) -> int:
    """Estimate input tokens: ~1 per 4 characters of all text, plus per-message overhead."""
    chars, flat = _content_chars(body.get("system"))
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                c, f = _content_chars(message.get("content"))
                chars += c
                flat += f + _MESSAGE_OVERHEAD
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            if not isinstance(tool, dict):
                continue
            for key in ("name", "description"):
                value = tool.get(key)
                if isinstance(value, str):
                    chars += len(value)
            schema = tool.get("input_schema")
            if schema is not None:
                chars += len(orjson.dumps(schema))
    return max(1, _tokens(chars) + flat)


# --------------------------------------------------------------------------- answering


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [
        b["text"]
        for b in content
        if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]
    return "\n".join(parts)


def _last_user(messages: Any) -> tuple[str, bool, list[str]]:
    """(text, answered_a_tool, tool ids answered) of the last user message."""
    if not isinstance(messages, list):
        return "", False, []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        ids: list[str] = []
        has_result = False
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    has_result = True
                    tool_use_id = block.get("tool_use_id")
                    if isinstance(tool_use_id, str):
                        ids.append(tool_use_id)
        return _text_of(content), has_result, ids
    return "", False, []


def _tool_names_by_id(messages: list[Any], ids: list[str]) -> list[str]:
    wanted = set(ids)
    names: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and block.get("id") in wanted
                and isinstance(block.get("name"), str)
            ):
                names.append(block["name"])
    return names


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "(an empty message)"
    if len(flat) > _SNIPPET_CHARS:
        return flat[:_SNIPPET_CHARS].rstrip() + "..."
    return flat


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.digest()


def _reply_text(text: str, seed: bytes) -> str:
    first = seed[0] % len(_SENTENCES)
    second = (first + 1 + seed[1] % (len(_SENTENCES) - 1)) % len(_SENTENCES)
    snippet = _snippet(text)
    if snippet[-1] not in ".!?":
        snippet += "."
    return f"Offline model reply to: {snippet} {_SENTENCES[first]} {_SENTENCES[second]}"


def _resolve_ref(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node if isinstance(node, dict) else {}


def _value_for(schema: Any, name: str, root: dict[str, Any], depth: int) -> Any:
    """A deterministic value that satisfies the simple parts of a JSON schema."""
    if not isinstance(schema, dict) or depth > _SCHEMA_DEPTH:
        return None if depth > _SCHEMA_DEPTH else "offline"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _value_for(_resolve_ref(ref, root), name, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _value_for((non_null or options)[0], name, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or kind
        kind = kinds[0] if kinds else None
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "string":
        return _string_for(schema, name)
    if kind == "integer":
        return int(_number_for(schema, 1))
    if kind == "number":
        return float(_number_for(schema, 1.0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            return []
        min_items = schema.get("minItems")
        count = min_items if isinstance(min_items, int) and min_items > 1 else 1
        max_items = schema.get("maxItems")
        if isinstance(max_items, int) and 0 <= max_items < count:
            count = max_items
        return [_value_for(items, name, root, depth + 1) for _ in range(count)]
    if kind == "object":
        return _object_for(schema, root, depth)
    return None


def _string_for(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        value = "2025-01-01T00:00:00Z"
    elif fmt == "date":
        value = "2025-01-01"
    elif fmt == "email":
        value = "offline@example.com"
    elif fmt in ("uri", "url"):
        value = "https://example.com/offline"
    elif fmt == "uuid":
        value = "00000000-0000-4000-8000-000000000000"
    else:
        value = f"offline {name}" if name else "offline"
        max_len = schema.get("maxLength")
        if isinstance(max_len, int) and max_len >= 0:
            value = value[:max_len]
    min_len = schema.get("minLength")
    if isinstance(min_len, int) and len(value) < min_len:
        value = value + "x" * (min_len - len(value))
    return value


def _number_for(schema: dict[str, Any], default: float) -> float:
    value = default
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if isinstance(low, int | float) and not isinstance(low, bool) and value < low:
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = high - (1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    return value


def _object_for(schema: dict[str, Any], root: dict[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    names = (
        [n for n in required if isinstance(n, str) and n in properties]
        if isinstance(required, list) and required
        else list(properties)
    )
    return {n: _value_for(properties[n], n, root, depth + 1) for n in names}


def _tool_input(tool: dict[str, Any] | None) -> dict[str, Any]:
    schema = tool.get("input_schema") if tool else None
    if not isinstance(schema, dict):
        return {}
    value = _object_for(schema, schema, 0)
    return value


def _called_a_tool(messages: Any) -> bool:
    """Whether an assistant turn in ``messages`` already holds a tool_use block."""
    if not isinstance(messages, list):
        return False
    return any(
        isinstance(m, dict)
        and m.get("role") == "assistant"
        and isinstance(m.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in m["content"])
        for m in messages
    )


def _choose_tool(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None] | None:
    tools = body.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        ctype = choice.get("type")
        if ctype == "none":
            return None
        if ctype == "tool" and isinstance(choice.get("name"), str):
            name = choice["name"]
            for tool in tools:
                if isinstance(tool, dict) and tool.get("name") == name:
                    return name, tool
            return name, None
    forced = isinstance(choice, dict) and choice.get("type") == "any"
    if not forced and _called_a_tool(body.get("messages")):
        return None  # one unforced tool call per conversation, so agent loops always end
    for tool in tools:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            return tool["name"], tool
    return None


def _cut_at_stop(text: str, stops: Any) -> tuple[str, str | None]:
    if not isinstance(stops, list) or not text:
        return text, None
    best, best_at = None, len(text) + 1
    for stop in stops:
        if isinstance(stop, str) and stop:
            at = text.find(stop)
            if 0 <= at < best_at:
                best, best_at = stop, at
    if best is None:
        return text, None
    return text[:best_at], best


def _plan(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str | None, int, str]:
    """Decide the answer: (content, stop_reason, stop_sequence, output_tokens, user text)."""
    messages = body.get("messages")
    text, answered, ids = _last_user(messages)
    if _MARKER_OVERLOADED in text:
        raise OfflineFault("overloaded_error", 529, "Overloaded")
    if _MARKER_API in text:
        raise OfflineFault("api_error", 500, "Internal server error")
    count = len(messages) if isinstance(messages, list) else 0
    seed = _digest(text, str(count))

    tool: tuple[str, dict[str, Any] | None] | None = None
    if answered:
        names = _tool_names_by_id(messages, ids) if isinstance(messages, list) else []
        label = ", ".join(dict.fromkeys(names)) if names else "the tool"
        reply = (
            f"Offline model received the result from {label}. "
            f"The tool call is complete, so this turn ends here. {_SENTENCES[seed[0] % 3]}"
        )
    else:
        tool = _choose_tool(body)
        if tool is not None:
            reply = f"Offline model will call the {tool[0]} tool for: {_snippet(text)}"
        else:
            reply = _reply_text(text, seed)

    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        max_tokens = _DEFAULT_MAX_TOKENS

    reply, stop_sequence = _cut_at_stop(reply, body.get("stop_sequences"))
    stop_reason = "end_turn"
    if stop_sequence is not None:
        stop_reason, tool = "stop_sequence", None
    text_tokens = _tokens(len(reply))
    if text_tokens > max_tokens:
        reply = reply[: max_tokens * 4]
        text_tokens = max_tokens
        stop_reason, stop_sequence, tool = "max_tokens", None, None

    content: list[dict[str, Any]] = []
    if reply:
        content.append({"type": "text", "text": reply})
    output_tokens = text_tokens
    if tool is not None:
        name, spec = tool
        tool_input = _tool_input(spec)
        tool_tokens = _TOOL_USE_OVERHEAD + _tokens(len(name) + len(orjson.dumps(tool_input)))
        if output_tokens + tool_tokens > max_tokens:
            stop_reason = "max_tokens"
        else:
            tool_id = "toolu_offline_" + _digest(name, text, str(count)).hex()
            content.append({"type": "tool_use", "id": tool_id, "name": name, "input": tool_input})
            output_tokens += tool_tokens
            stop_reason = "tool_use"
    return content, stop_reason, stop_sequence, max(1, output_tokens), text


def _model_name(body: dict[str, Any]) -> str:
    model = body.get("model")
    return model if isinstance(model, str) else "claude-offline-1"


def _usage(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def create_message(body: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A complete Anthropic Message answering ``body``. Raises OfflineFault on test markers."""
    content, stop_reason, stop_sequence, output_tokens, _ = _plan(body)
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": _model_name(body),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": _usage(count_tokens(body), output_tokens),
    }


# --------------------------------------------------------------------------- streaming


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


_PING = _event("ping", {"type": "ping"})
_MESSAGE_STOP = _event("message_stop", {"type": "message_stop"})
_MIDSTREAM_ERROR = _event(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)


def _text_chunks(text: str, words: int = 3) -> list[str]:
    pieces = _WORD_SPLIT.split(text)
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


def _json_chunks(raw: str, size: int = 16) -> list[str]:
    return [raw[i : i + size] for i in range(0, len(raw), size)] or [""]


def stream_message(body: dict[str, Any], message_id: str) -> Iterator[bytes]:
    """The SSE byte stream of the message ``create_message`` would return, event by event.

    The answer is computed eagerly, so OfflineFault is raised by this call itself (before
    any byte is produced) and the caller can still answer with an HTTP error status.
    """
    content, stop_reason, stop_sequence, output_tokens, text = _plan(body)
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": _model_name(body),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage(count_tokens(body), 1),
        },
    }
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": output_tokens},
    }
    return _events(start, content, delta, _MARKER_MIDSTREAM in text)


def _events(
    start: dict[str, Any],
    content: list[dict[str, Any]],
    delta: dict[str, Any],
    fail_midstream: bool,
) -> Iterator[bytes]:
    yield _event("message_start", start)
    yield _PING
    for index, block in enumerate(content):
        if block["type"] == "text":
            yield _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            chunks = _text_chunks(block["text"])
            cut = max(1, len(chunks) // 2) if fail_midstream else -1
            for n, chunk in enumerate(chunks):
                if n == cut:
                    yield _MIDSTREAM_ERROR
                    return
                yield _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": chunk},
                    },
                )
        else:
            yield _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                },
            )
            for piece in _json_chunks(orjson.dumps(block["input"]).decode()):
                yield _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    if fail_midstream:
        yield _MIDSTREAM_ERROR
        return
    yield _event("message_delta", delta)
    yield _MESSAGE_STOP


# --------------------------------------------------------------------------- models


def list_models(after_id: str | None, before_id: str | None, limit: int) -> dict[str, Any]:
    """One page of the offline models, newest first, with Anthropic's cursor semantics.

    ``after_id`` pages forward (the page starts right after it), ``before_id`` pages
    backward (the page ends right before it). An unknown cursor yields an empty page.
    """
    lo, hi = 0, len(OFFLINE_MODELS)
    if after_id is not None:
        at = _MODEL_INDEX.get(after_id)
        if at is None:
            return _page([], False)
        lo = at + 1
    if before_id is not None:
        at = _MODEL_INDEX.get(before_id)
        if at is None:
            return _page([], False)
        hi = at
    if hi <= lo:
        return _page([], False)
    if before_id is not None and after_id is None:
        start = max(lo, hi - limit)
        return _page(list(OFFLINE_MODELS[start:hi]), start > lo)
    end = min(hi, lo + limit)
    return _page(list(OFFLINE_MODELS[lo:end]), end < hi)


def _page(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    data = [dict(item) for item in items]
    return {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def get_model(model_id: str) -> dict[str, Any] | None:
    """The offline model with this id, or None."""
    at = _MODEL_INDEX.get(model_id)
    return dict(OFFLINE_MODELS[at]) if at is not None else None

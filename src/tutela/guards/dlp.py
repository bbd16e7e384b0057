"""Data protection: find sensitive data in requests, act on it by policy, restore pseudonyms.

Request side: every text-bearing part of a Messages request is scanned with one shared
``Scanner`` (system text, message text, text documents, tool results, tool-use input
strings; never ``thinking`` or ``redacted_thinking`` blocks, whose signatures would break).
Each finding class gets one action from policy (allow, mask, redact, pseudonymise, block),
resolved per workspace and role:

1. ``guards.dlp.workspaces.<workspace>.roles.<role>.actions``
2. ``guards.dlp.roles.<role>.actions``
3. ``guards.dlp.workspaces.<workspace>.actions``
4. ``guards.dlp.actions`` (merged over the built-in defaults)

The first layer with a pattern that matches the class decides, using its most specific
pattern. A block names the classes and their counts, never the values. A transform returns
a rebuilt copy of the body; the original is never touched.

Response side: when (and only when) this exchange pseudonymised something, placeholders in
the answer are put back: in whole messages (text blocks, tool-use input strings) and in
streams (``text_delta`` and ``input_json_delta``, split placeholders included).

The per-exchange vault lives in ``exchange.scratch["dlp"]`` and dies with the exchange.
This module never logs, stores or returns matched values.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tutela.detectors import CustomDetector, KeywordList, Scanner, ScannerConfig, Span
from tutela.digests import DigestCache, KeyedDigest
from tutela.guard import OnError
from tutela.guards.body import KeyPath, set_path
from tutela.policy import DlpSettings
from tutela.redaction import StreamRestorer, Vault, apply_policy, resolve_action
from tutela.types import ALLOW, DataProtectionSummary, Exchange, Finding, StreamEvent, Verdict

log = logging.getLogger("tutela.dlp")

_SCRATCH = "dlp"
_SCANNED_ENDPOINTS = frozenset({"messages", "count_tokens"})
# Joins a request's text parts for one scan. The newline ends any context window (context
# words never reach across it) and NUL is in no pattern, so no finding can span two parts.
_PART_BREAK = "\n\x00\n"
_MAX_FINDINGS = 1000  # per verdict; the audit summary still counts every finding
_CACHE_LIMIT = 4096
_RESTORED = "data protection: restored pseudonymised values in the response"
_HELD = "data protection: holding back a possible placeholder split across deltas"
_DELTA_FIELD = {"text_delta": "text", "input_json_delta": "partial_json"}
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use"})


def scanner_config(settings: DlpSettings) -> ScannerConfig:
    """The detector configuration a policy's ``guards.dlp`` section asks for."""
    pepper = os.environ.get(settings.edm_pepper_env, "").encode()
    return ScannerConfig(
        enabled=settings.classes,
        disabled=settings.disabled_classes,
        internal_domains=settings.internal_domains,
        custom=tuple(
            CustomDetector(
                cls=cls,
                pattern=c.pattern,
                validator=c.validator,
                context=c.context,
                score=c.score,
                caseless=c.caseless,
            )
            for cls, c in settings.custom.items()
        ),
        keywords=tuple(
            KeywordList(cls=cls, words=k.words, caseless=k.caseless, score=k.score)
            for cls, k in settings.keywords.items()
        ),
        edm=tuple(Path(p) for p in settings.edm_files),
        edm_pepper=pepper,
        min_score=settings.min_score,
        engine=settings.engine,
    )


@functools.lru_cache(maxsize=4)
def shared_scanner(config: ScannerConfig) -> Scanner:
    """One compiled ``Scanner`` per configuration per process (it is immutable)."""
    scanner = Scanner(config)
    log.info("dlp engine ready", extra={"engine": scanner.engine, "note": scanner.engine_note})
    return scanner


class ActionResolver:
    """Picks the action for a class, given the workspace and role (see module docstring)."""

    def __init__(self, settings: DlpSettings) -> None:
        self.settings = settings
        self._cache: dict[tuple[str, str, str], str] = {}

    def layers(self, workspace: str, role: str) -> list[Mapping[str, str]]:
        settings = self.settings
        ws = settings.workspaces.get(workspace)
        ws_role = ws.roles.get(role) if ws is not None else None
        role_scope = settings.roles.get(role)
        return [
            ws_role.actions if ws_role is not None else {},
            role_scope.actions if role_scope is not None else {},
            ws.actions if ws is not None else {},
            settings.actions,
        ]

    def action(self, cls: str, workspace: str = "", role: str = "") -> str:
        key = (workspace, role, cls)
        found = self._cache.get(key)
        if found is not None:
            return found
        action = "allow"
        for layer in self.layers(workspace, role):
            if layer and _matches_any(cls, layer):
                action = resolve_action(cls, layer)
                break
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = action
        return action


def _matches_any(cls: str, layer: Mapping[str, str]) -> bool:
    return cls in layer or any(fnmatch.fnmatchcase(cls, p) for p in layer)


class _State:
    """This exchange's vault and per-content-block stream restorers."""

    __slots__ = ("restorers", "vault")

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.restorers: dict[int, tuple[StreamRestorer, str]] = {}


def pointer(path: KeyPath) -> str:
    """A JSON pointer (RFC 6901) for ``path``."""
    return "".join(
        "/" + (str(p).replace("~", "~0").replace("/", "~1") if isinstance(p, str) else str(p))
        for p in path
    )


class ScanCache:
    """Findings of long request parts, keyed by a ``KeyedDigest`` of their text.

    A conversation resends its whole history (system prompt, tool definitions' text,
    earlier turns, tool results) with every turn, so without a cache each turn rescans
    everything said so far. Only spans are kept (class, offsets, score), never text; the
    key is a per-process keyed hash, so an entry cannot be matched to a guessed text from
    outside the process. Parts shorter than ``min_chars`` are scanned every time: hashing
    them costs about what scanning does. A part with more than ``max_spans`` findings is
    not kept, so the cache holds at most ``entries * max_spans`` spans (about 50 MB at the
    defaults) whatever is sent. Least recently used entries go first.
    """

    def __init__(self, entries: int, min_chars: int = 256, max_spans: int = 64) -> None:
        self.entries = entries
        self.min_chars = min_chars
        self.max_spans = max_spans
        self.hits = 0
        self.misses = 0
        self._digest = KeyedDigest()
        self._spans: DigestCache[tuple[Span, ...]] = DigestCache(entries)

    def key(self, text: str) -> bytes | None:
        if len(text) < self.min_chars:
            return None
        return self._digest(text)

    def get(self, key: bytes) -> tuple[Span, ...] | None:
        spans = self._spans.get(key)
        if spans is None:
            self.misses += 1
            return None
        self.hits += 1
        return spans

    def put(self, key: bytes, spans: list[Span]) -> None:
        if len(spans) > self.max_spans:
            return  # bounds the memory a flood of finding-dense parts can take
        self._spans.put(key, tuple(spans))

    def __len__(self) -> int:
        return len(self._spans)


def _scan_parts(
    scanner: Scanner, parts: list[tuple[KeyPath, str]], cache: ScanCache | None = None
) -> list[tuple[KeyPath, str, list[Span]]]:
    """Every part's findings (local offsets), for the parts that have any, in order.

    Parts found in ``cache`` are not scanned again; the rest are scanned in one pass.
    """
    per_part: list[list[Span]]
    if cache is None or not cache.entries:
        per_part = _scan_joined(scanner, [text for _path, text in parts])
    else:
        per_part = [[] for _ in parts]
        todo: list[int] = []
        keys: list[bytes | None] = []
        for index, (_path, text) in enumerate(parts):
            key = cache.key(text)
            cached = cache.get(key) if key is not None else None
            if cached is not None:
                per_part[index] = list(cached)
            else:
                todo.append(index)
                keys.append(key)
        if todo:
            fresh = _scan_joined(scanner, [parts[i][1] for i in todo])
            for index, key, spans in zip(todo, keys, fresh, strict=True):
                per_part[index] = spans
                if key is not None:
                    cache.put(key, spans)
    return [
        (path, text, spans) for (path, text), spans in zip(parts, per_part, strict=True) if spans
    ]


def _scan_joined(scanner: Scanner, texts: list[str]) -> list[list[Span]]:
    """Each text's findings (local offsets), from one engine pass over the joined texts.

    One pass instead of one per text: each scan call has a fixed cost that dominates for
    the short parts a conversation is made of.
    """
    if len(texts) <= 1:
        return [scanner.scan(text) for text in texts]
    starts: list[int] = []
    position = 0
    for text in texts:
        starts.append(position)
        position += len(text) + len(_PART_BREAK)
    per_text: list[list[Span]] = [[] for _ in texts]
    for span in scanner.scan(_PART_BREAK.join(texts)):
        index = bisect.bisect_right(starts, span.start) - 1
        base = starts[index]
        if span.end - base > len(texts[index]):
            continue  # reaches into the break: not a finding of either part
        per_text[index].append(
            Span(cls=span.cls, start=span.start - base, end=span.end - base, score=span.score)
        )
    return per_text


def request_texts(body: Mapping[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    """Every text-bearing string of a Messages request, with its path. Never thinking."""
    system = body.get("system")
    if isinstance(system, str):
        yield ("system",), system
    elif isinstance(system, list):
        yield from _blocks(system, ("system",))
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            yield ("messages", i, "content"), content
        elif isinstance(content, list):
            yield from _blocks(content, ("messages", i, "content"))


def _blocks(blocks: list[Any], base: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    for j, block in enumerate(blocks):
        if isinstance(block, dict):
            yield from block_texts(block, (*base, j))


def block_texts(block: dict[str, Any], path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """The text-bearing strings of one content block at ``path``, with their paths: a tool
    result's own blocks too (text, and documents or search results a tool returned)."""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if isinstance(text, str):
            yield (*path, "text"), text
    elif kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            yield (*path, "content"), content
        elif isinstance(content, list):
            yield from _blocks(content, (*path, "content"))
    elif kind in _TOOL_BLOCKS:
        if "input" in block:
            yield from _leaves(block["input"], (*path, "input"))
    elif kind == "document":  # title and context first: they introduce the text
        for name in ("title", "context"):
            if isinstance(block.get(name), str):
                yield (*path, name), block[name]
        source = block.get("source")
        if isinstance(source, dict):
            if source.get("type") == "text" and isinstance(source.get("data"), str):
                yield (*path, "source", "data"), source["data"]
            elif source.get("type") == "content" and isinstance(source.get("content"), list):
                yield from _blocks(source["content"], (*path, "source", "content"))
    elif kind == "search_result":
        if isinstance(block.get("title"), str):
            yield (*path, "title"), block["title"]
        content = block.get("content")
        if isinstance(content, list):
            yield from _blocks(content, (*path, "content"))
    # thinking, redacted_thinking (signed), image and unknown blocks are never touched


def _leaves(value: Any, base: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    """String leaves of a JSON value, iteratively (no recursion limit on deep inputs)."""
    stack: list[tuple[KeyPath, Any]] = [(base, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            yield path, node
        elif isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))


def _counted(counts: Mapping[str, int], classes: list[str]) -> str:
    return ", ".join(f"{cls} ({counts[cls]})" for cls in classes)


class DlpGuard:
    """Request guard (scan, act by policy) and response guard (restore pseudonyms)."""

    name = "dlp"
    waits = False  # scanning is CPU work in this process

    def __init__(
        self,
        settings: DlpSettings,
        scanner: Scanner | None = None,
        *,
        may_send: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.settings = settings
        # The identity decision point (role -> data classes it may send); a class the
        # caller's role may not send is blocked whatever its action says.
        self.may_send = may_send
        self.on_error: OnError = settings.on_error
        self.scanner = scanner or shared_scanner(scanner_config(settings))
        self.resolver = ActionResolver(settings)
        self.cache = ScanCache(settings.cache_entries)

    # ------------------------------------------------------------------ request

    async def check_request(self, exchange: Exchange) -> Verdict:
        body = exchange.body
        if body is None or exchange.endpoint not in _SCANNED_ENDPOINTS:
            return ALLOW
        return self.check_body(exchange, body)

    def check_body(self, exchange: Exchange, body: dict[str, Any]) -> Verdict:
        principal = exchange.principal
        workspace = principal.workspace if principal else ""
        role = principal.role if principal else ""
        hits = _scan_parts(self.scanner, list(request_texts(body)), self.cache)
        if not hits:
            exchange.data_protection = DataProtectionSummary(classes={}, actions={})
            return ALLOW
        counts: dict[str, int] = {}
        actions: dict[str, str] = {}
        findings: list[Finding] = []
        for path, _text, spans in hits:
            where = pointer(path)
            for span in spans:
                cls = span.cls
                counts[cls] = counts.get(cls, 0) + 1
                if cls not in actions:
                    actions[cls] = self.resolver.action(cls, workspace, role)
                if len(findings) < _MAX_FINDINGS:
                    findings.append(
                        Finding(
                            cls=cls, pointer=where, start=span.start, end=span.end, score=span.score
                        )
                    )
        refused: list[str] = []
        if self.may_send is not None and role:
            refused = sorted(c for c in actions if not self.may_send(role, c))
            for cls in refused:
                actions[cls] = "block"
        exchange.data_protection = DataProtectionSummary(classes=counts, actions=actions)
        blocked = sorted(c for c, a in actions.items() if a == "block")
        if blocked:
            reason = "request blocked by data protection policy: " + _counted(counts, blocked)
            if refused:
                reason += f" (role {role!r} may not send {', '.join(refused)})"
            return Verdict.block(reason, *findings)
        changing = sorted(c for c, a in actions.items() if a != "allow")
        if not changing:
            return Verdict.allow(
                "data protection: allowed " + _counted(counts, sorted(counts)), *findings
            )
        vault = Vault()
        new_body = dict(body)
        copied: set[int] = {id(new_body)}
        for path, text, spans in hits:
            if not any(actions[s.cls] != "allow" for s in spans):
                continue
            result = apply_policy(text, spans, actions, vault)
            set_path(new_body, path, result.text, copied)
        if len(vault):
            exchange.scratch[_SCRATCH] = _State(vault)
        by_action: dict[str, list[str]] = {}
        for cls in changing:
            by_action.setdefault(actions[cls], []).append(cls)
        done = {"mask": "masked", "redact": "redacted", "pseudonymise": "pseudonymised"}
        reason = "; ".join(
            f"{done[action]} {_counted(counts, classes)}"
            for action, classes in sorted(by_action.items())
        )
        return Verdict.transform("data protection: " + reason, new_body, *findings)

    # ------------------------------------------------------------------ response

    def check_message(self, exchange: Exchange, message: dict[str, Any]) -> Verdict:
        state = exchange.scratch.get(_SCRATCH)
        if state is None:
            return ALLOW
        content = message.get("content")
        if not isinstance(content, list):
            return ALLOW
        restore = state.vault.restore
        new_content: list[Any] | None = None
        for index, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            changed: dict[str, Any] | None = None
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and "[" in text:
                    restored = restore(text)
                    if restored != text:
                        changed = {**block, "text": restored}
            elif kind in _TOOL_BLOCKS and "input" in block:
                holder: dict[str, Any] = {"input": block["input"]}
                copied: set[int] = {id(holder)}
                for path, text in list(_leaves(block["input"], ("input",))):
                    if "[" in text:
                        restored = restore(text)
                        if restored != text:
                            if len(path) == 1:
                                holder["input"] = restored
                            else:
                                set_path(holder, path, restored, copied)
                if holder["input"] is not block["input"]:
                    changed = {**block, "input": holder["input"]}
            if changed is not None:
                if new_content is None:
                    new_content = list(content)
                new_content[index] = changed
        if new_content is None:
            return ALLOW
        return Verdict.transform(_RESTORED, {**message, "content": new_content})

    def check_event(self, exchange: Exchange, event: StreamEvent) -> Verdict:
        state = exchange.scratch.get(_SCRATCH)
        if state is None:
            return ALLOW
        data = event.data
        if data is None:
            return ALLOW
        name = event.event
        if name == "content_block_delta":
            entry = state.restorers.get(data.get("index"))
            delta = data.get("delta")
            if entry is None or not isinstance(delta, dict):
                return ALLOW
            restorer, kind = entry
            if delta.get("type") != kind:
                return ALLOW
            field = _DELTA_FIELD[kind]
            piece = delta.get(field)
            if not isinstance(piece, str):
                return ALLOW
            out = restorer.feed(piece)
            if out == piece:
                return ALLOW
            if not out:
                return Verdict.replace_events(_HELD)
            return Verdict.transform(_RESTORED, {**data, "delta": {**delta, field: out}})
        if name == "content_block_start":
            index = data.get("index")
            block = data.get("content_block")
            if isinstance(index, int) and isinstance(block, dict):
                kind = block.get("type")
                if kind == "text":
                    state.restorers[index] = (StreamRestorer(state.vault), "text_delta")
                elif kind in _TOOL_BLOCKS:
                    state.restorers[index] = (
                        StreamRestorer(state.vault, json_strings=True),
                        "input_json_delta",
                    )
            return ALLOW
        if name == "content_block_stop":
            index = data.get("index")
            entry = state.restorers.pop(index, None)
            if entry is None:
                return ALLOW
            restorer, kind = entry
            rest = restorer.flush()
            if not rest:
                return ALLOW
            held = StreamEvent.of(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": kind, _DELTA_FIELD[kind]: rest},
                },
            )
            return Verdict.replace_events(_RESTORED, held, event)
        return ALLOW

    def finish(self, exchange: Exchange) -> None:
        exchange.scratch.pop(_SCRATCH, None)  # the vault dies with the exchange, now

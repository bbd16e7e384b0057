"""Prompt-injection defence (``injection``) and output validation (``output``) guards.

``InjectionGuard``, request side: every user message is scanned as ``user`` text, and
every ``document``, ``search_result`` and ``tool_result`` block on its own as untrusted
(``document`` or ``tool_result``), by the shared ``Detector`` (rules plus the shipped
classifier; verdicts cached by content hash, so a conversation's unchanged history is not
rescanned turn after turn). A PDF document's text layer is read (in a worker thread) and
scanned as a part of its own; a PDF cannot be datamarked, so it is flagged where a text
would be spotlighted. The system prompt (the operator's) and assistant turns are
not scanned. A part that scores at or above its source's threshold gets its source's
action, per workspace: ``flag`` (audited), ``spotlight`` (delimited and datamarked, with
an instruction in the system prompt), or ``block``. ``spotlight_all`` spotlights every
untrusted block whatever its score; ``canary`` plants a per-workspace secret in the
system prompt. Response side: a message or stream that reveals the canary is blocked (or
flagged), also when the token is split across deltas.

``OutputGuard``, response side only: tool calls are checked against the tool allow-list
and argument schemas, text against links and markdown images that carry data to
non-allowed domains (exfiltration), and a final answer against the workspace's response
schema when one is set (checked at ``message_delta``, before the stream ends). On a stream, a forbidden tool is refused at its
``content_block_start``, bad arguments at the block's end (before the client has a whole
call to act on), an image link as soon as its markdown closes; a block ends the stream
with an ``error`` event.

Both fill ``exchange.injection`` (scores, rule ids, actions; never text) for the audit
trail. Neither logs, stores or returns content.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from tutela.detectors import Scanner
from tutela.guard import OnError
from tutela.guards.body import KeyPath, set_path
from tutela.guards.dlp import block_texts, pointer
from tutela.injection.canary import CanaryWatch, canary_for, plant_text
from tutela.injection.detector import Analysis, Detection, Detector, Source, shared_detector
from tutela.injection.output import exfiltrating_links, validate
from tutela.injection.pdf import is_pdf_source
from tutela.injection.spotlight import Spotlight
from tutela.policy import InjectionSettings, OutputSettings
from tutela.types import ALLOW, Exchange, Finding, InjectionSummary, StreamEvent, Verdict

_SCANNED_ENDPOINTS = frozenset({"messages", "count_tokens"})
_UNREADABLE = "inj.unreadable_pdf"
_CANARY = "injection.canary"
_OUTPUT = "output"
_MAX_TOOL_JSON = 1 << 20  # bytes of streamed tool arguments kept for the schema check
_LINK_TAIL = 2048  # characters of streamed text kept to find links split across deltas


@dataclass(frozen=True, slots=True)
class Part:
    """One unit of scanning: a user message, a document or a tool result."""

    source: Source
    path: KeyPath  # of the message or block
    texts: tuple[tuple[KeyPath, str], ...]  # its text strings, with their paths
    pdf: str = ""  # a PDF document's base64 data: its text layer is what is scanned

    @property
    def text(self) -> str:
        if len(self.texts) == 1:
            return self.texts[0][1]
        return "\n\n".join(text for _path, text in self.texts)


_UNTRUSTED: dict[str, Source] = {
    "tool_result": "tool_result",
    "document": "document",
    "search_result": "document",
}


def _untrusted(block: dict[str, Any], path: KeyPath) -> Iterator[Part]:
    """A tool result, document or search result as one part, with every text in it: a tool
    result's documents and search results too (a tool can return them). A PDF document is
    a part of its own, beside its title and context."""
    source = _UNTRUSTED.get(block.get("type"))  # type: ignore[arg-type]
    if source is None:
        return
    texts = tuple(block_texts(block, path))
    if texts:
        yield Part(source, path, texts)
    documents = [(None, block)] if block.get("type") == "document" else _returned_documents(block)
    for index, document in documents:
        if is_pdf_source(document.get("source")):
            at = path if index is None else (*path, "content", index)
            yield Part(source, (*at, "source", "data"), (), pdf=document["source"]["data"])


def _returned_documents(block: dict[str, Any]) -> list[tuple[int | None, dict[str, Any]]]:
    """The document blocks a tool result holds, with their index in its content."""
    content = block.get("content") if block.get("type") == "tool_result" else None
    if not isinstance(content, list):
        return []
    return [
        (i, b) for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "document"
    ]


def scan_parts(body: Mapping[str, Any]) -> Iterator[Part]:
    """The parts of a Messages request injection defence scans (see module docstring)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        base: KeyPath = ("messages", i, "content")
        if isinstance(content, str):
            yield Part("user", base, ((base, content),))
            continue
        if not isinstance(content, list):
            continue
        own: list[tuple[KeyPath, str]] = []
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                own.append(((*base, j, "text"), block["text"]))
                continue
            yield from _untrusted(block, (*base, j))
        if own:
            yield Part("user", base, tuple(own))


def _with_system(body: dict[str, Any], notes: list[str]) -> None:
    """Append ``notes`` to the system prompt of ``body`` (a copy), keeping its shape."""
    note = "\n\n".join(notes)
    system = body.get("system")
    if isinstance(system, list):
        body["system"] = [*system, {"type": "text", "text": note}]
    elif isinstance(system, str) and system:
        body["system"] = system + "\n\n" + note
    else:
        body["system"] = note


def _classes(detection: Detection) -> tuple[str, ...]:
    return detection.rule_ids or ("inj.classifier",)


def _summary(exchange: Exchange) -> InjectionSummary:
    if exchange.injection is None:
        exchange.injection = InjectionSummary()
    return exchange.injection


class InjectionGuard:
    """Request guard (detect, act per source) and response guard (canary leaks)."""

    name = "injection"
    waits = False  # CPU work in this process

    def __init__(self, settings: InjectionSettings, detector: Detector | None = None) -> None:
        self.settings = settings
        self.on_error: OnError = settings.on_error
        self.detector = detector or shared_detector()

    # ------------------------------------------------------------------ request

    async def check_request(self, exchange: Exchange) -> Verdict:
        body = exchange.body
        if body is None or exchange.endpoint not in _SCANNED_ENDPOINTS:
            return ALLOW
        parts = list(scan_parts(body))  # walked once per request
        pdfs = [part.pdf for part in parts if part.pdf]
        if not pdfs:
            return self.check_body(exchange, body, parts=parts)
        # Reading a PDF's text takes pypdf tens of milliseconds a page (bench/injection_pdf.py):
        # off the event loop, so other requests go on meanwhile.
        read = await asyncio.to_thread(lambda: {d: self.detector.analyse_pdf(d) for d in pdfs})
        return self.check_body(exchange, body, read, parts=parts)

    def check_body(
        self,
        exchange: Exchange,
        body: dict[str, Any],
        read: Mapping[str, tuple[Analysis | None, bool]] | None = None,
        *,
        parts: list[Part] | None = None,
    ) -> Verdict:
        """The request-side verdict; ``read`` holds PDFs already analysed, by their data, and
        ``parts`` the body's parts when the caller has them (else they are found here)."""
        settings = self.settings
        workspace = exchange.principal.workspace if exchange.principal else ""
        summary = _summary(exchange)
        findings: list[Finding] = []
        blocked: list[tuple[Part, Detection]] = []
        flagged: list[tuple[Part, Detection]] = []
        spotlit: list[Part] = []
        unreadable: list[str] = []  # pointers of PDF documents that could not be read
        spotlight_all = settings.spotlights_all(workspace)
        for part in parts if parts is not None else scan_parts(body):
            rule = settings.source(part.source, workspace)
            thresholds = {part.source: rule.threshold}
            if part.pdf:
                analysed = read.get(part.pdf) if read else None
                found = self.detector.scan_pdf(part.pdf, part.source, thresholds, analysed)
                if found is None:  # not scanned: say so, and block if the policy says
                    summary.unreadable += 1
                    summary.flagged = True
                    summary.actions.append(settings.unreadable_pdf)
                    findings.append(Finding(cls=_UNREADABLE, pointer=pointer(part.path)))
                    unreadable.append(pointer(part.path))
                    continue
                detection = found
            else:
                detection = self.detector.scan(part.text, part.source, thresholds)
            stats = summary.sources.setdefault(
                part.source, {"scanned": 0, "flagged": 0, "max_score": 0.0}
            )
            stats["scanned"] += 1
            stats["max_score"] = max(stats["max_score"], detection.score)
            summary.max_score = max(summary.max_score, detection.score)
            summary.cached += detection.cached
            for rule_id in detection.rule_ids:
                summary.rules[rule_id] = summary.rules.get(rule_id, 0) + 1
            action = rule.action_for(detection.score) if detection.flagged else "allow"
            if action == "spotlight" and part.pdf:
                action = "flag"  # a PDF cannot be datamarked in place
            if action != "allow":
                stats["flagged"] += 1
                summary.flagged = True
                summary.actions.append(action)
                findings += [
                    Finding(cls=cls, pointer=pointer(part.path), score=detection.score)
                    for cls in _classes(detection)
                ]
                if action == "block":
                    if rule.action != "block" and rule.block_threshold is not None:
                        # Blocked by the second tier: name the threshold that blocked it.
                        detection = replace(detection, threshold=rule.block_threshold)
                    blocked.append((part, detection))
                elif action == "spotlight":
                    spotlit.append(part)
                else:
                    flagged.append((part, detection))
            elif spotlight_all and part.source != "user" and not part.pdf:
                spotlit.append(part)
        if blocked:
            return Verdict.block(
                "request blocked: prompt injection suspected in " + _describe(blocked),
                *findings,
            )
        if unreadable and settings.unreadable_pdf == "block":
            return Verdict.block(
                f"request blocked: the PDF document at {unreadable[0]} could not be read, so "
                "it could not be scanned for prompt injection (policy: unreadable_pdf: block)",
                *findings,
            )
        notes: list[str] = []
        new_body: dict[str, Any] | None = None
        reasons: list[str] = []
        if spotlit:
            new_body = dict(body)
            copied: set[int] = {id(new_body)}
            spotlight = Spotlight.new()
            for part in spotlit:
                for path, text in part.texts:
                    set_path(new_body, path, spotlight.wrap(text, part.source), copied)
            notes.append(spotlight.instruction())
            reasons.append(f"spotlighted {len(spotlit)} untrusted block(s)")
            if "spotlight" not in summary.actions:
                summary.actions.append("spotlight")
        if exchange.endpoint == "messages" and settings.plants_canary(workspace):
            token = canary_for(workspace, settings.canary_secret_env)
            exchange.scratch[_CANARY] = CanaryWatch(token)
            notes.append(plant_text(token))
            summary.canary = "planted"
            reasons.append("planted a canary token in the system prompt")
        if unreadable:
            reasons.insert(0, f"PDF document not scanned (unreadable) at {', '.join(unreadable)}")
        if flagged:
            reasons.insert(0, "prompt injection suspected (flagged) in " + _describe(flagged))
        if notes:
            if new_body is None:
                new_body = dict(body)
            _with_system(new_body, notes)
            return Verdict.transform(
                "injection defence: " + "; ".join(reasons), new_body, *findings
            )
        if flagged or unreadable:
            return Verdict.allow("injection defence: " + "; ".join(reasons), *findings)
        return ALLOW

    # ------------------------------------------------------------------ response

    def _leaked(self, exchange: Exchange) -> Verdict:
        summary = _summary(exchange)
        summary.canary = "leaked"
        summary.flagged = True
        finding = Finding(cls="inj.canary_leak", score=1.0)
        reason = "response reveals the system prompt's canary token (system-prompt leakage)"
        if self.settings.canary_action == "block":
            summary.actions.append("block")
            return Verdict.block("response blocked: " + reason, finding)
        summary.actions.append("flag")
        return Verdict.allow("flagged: " + reason, finding)

    def check_message(self, exchange: Exchange, message: dict[str, Any]) -> Verdict:
        watch: CanaryWatch | None = exchange.scratch.get(_CANARY)
        if watch is None:
            return ALLOW
        content = message.get("content")
        if not isinstance(content, list):
            return ALLOW
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                if watch.found_in(block["text"]):
                    return self._leaked(exchange)
            elif "input" in block and watch.found_in(orjson.dumps(block["input"]).decode()):
                return self._leaked(exchange)
        return ALLOW

    def check_event(self, exchange: Exchange, event: StreamEvent) -> Verdict:
        watch: CanaryWatch | None = exchange.scratch.get(_CANARY)
        if watch is None or event.event != "content_block_delta" or event.data is None:
            return ALLOW
        delta = event.data.get("delta")
        index = event.data.get("index")
        if not isinstance(delta, dict) or not isinstance(index, int):
            return ALLOW
        piece = delta.get("text", delta.get("partial_json", delta.get("thinking")))
        if isinstance(piece, str) and watch.feed(index, piece):
            if exchange.scratch.get("injection.leak_reported"):
                return ALLOW
            exchange.scratch["injection.leak_reported"] = True
            return self._leaked(exchange)
        return ALLOW

    def finish(self, exchange: Exchange) -> None:
        exchange.scratch.pop(_CANARY, None)


def _describe(items: list[tuple[Part, Detection]]) -> str:
    part, detection = max(items, key=lambda item: item[1].score)
    more = f" and {len(items) - 1} more part(s)" if len(items) > 1 else ""
    return (
        f"{part.source} at {pointer(part.path)} (score {detection.score:.2f}, "
        f"threshold {detection.threshold:.2f}; {', '.join(_classes(detection))}){more}"
    )


# ---------------------------------------------------------------------- output


class _Streamed:
    """One stream's open blocks: tool name and argument JSON, or a tail of text."""

    __slots__ = ("answer", "answer_size", "reported", "text", "tools", "total")

    def __init__(self) -> None:
        self.tools: dict[int, tuple[str, list[str], int]] = {}
        self.text: dict[int, str] = {}
        self.total: dict[int, int] = {}
        self.reported: set[tuple[str, str, int]] = set()
        self.answer: list[str] = []  # all text, kept only when a response schema applies
        self.answer_size = 0


class OutputGuard:
    """Response guard: tool allow-list and argument schemas, exfiltration links, response
    schema, and sensitive data (credentials by default) found by the DLP engine."""

    name = "output"

    def __init__(self, settings: OutputSettings, scanner: Scanner | None = None) -> None:
        self.settings = settings
        self.on_error: OnError = settings.on_error
        self.scanner = scanner if settings.sensitive_classes else None

    def _sensitive(self, text: str) -> list[tuple[str, str, str, int]]:
        """(class, action, description, start) of sensitive data in ``text``; never values."""
        if self.scanner is None or self.settings.sensitive_action == "allow":
            return []
        patterns = self.settings.sensitive_classes
        return [
            (
                f"dlp.{span.cls}",
                self.settings.sensitive_action,
                f"the answer contains {span.cls}",
                span.start,
            )
            for span in self.scanner.scan(text)
            if any(fnmatch.fnmatchcase(span.cls, p) for p in patterns)
        ]

    def _workspace(self, exchange: Exchange) -> str:
        return exchange.principal.workspace if exchange.principal else ""

    def _verdict(self, exchange: Exchange, problems: list[tuple[str, str, str]]) -> Verdict:
        """``problems``: (finding class, action, description)."""
        acted = [p for p in problems if p[1] != "allow"]
        if not acted:
            return ALLOW
        summary = _summary(exchange)
        summary.output += [cls for cls, _action, _what in acted]
        findings = [Finding(cls=cls) for cls, _action, _what in acted]
        blocking = [p for p in acted if p[1] == "block"]
        if blocking:
            summary.actions.append("block")
            return Verdict.block(
                "response blocked by output validation: " + "; ".join(p[2] for p in blocking),
                *findings,
            )
        summary.actions.append("annotate")
        return Verdict.allow(
            "output validation (annotated): " + "; ".join(p[2] for p in acted), *findings
        )

    def _tool_name(self, exchange: Exchange, name: str) -> list[tuple[str, str, str]]:
        tools = self.settings.tools_for(self._workspace(exchange))
        if tools.allow and name not in tools.allow:
            return [
                ("tool.not_allowed", self.settings.tool_action, f"tool {name!r} is not allowed")
            ]
        return []

    def _tool_input(self, exchange: Exchange, name: str, value: Any) -> list[tuple[str, str, str]]:
        schema = self.settings.tools_for(self._workspace(exchange)).schemas.get(name)
        if schema is None:
            return []
        problems = validate(value, schema)
        if not problems:
            return []
        return [
            (
                "tool.bad_arguments",
                self.settings.tool_action,
                f"tool {name!r} arguments break its schema at " + ", ".join(problems[:5]),
            )
        ]

    def _links(self, exchange: Exchange, text: str) -> list[tuple[str, str, str, int]]:
        domains = self.settings.domains_for(self._workspace(exchange))
        out: list[tuple[str, str, str, int]] = []
        for hit in exfiltrating_links(text, domains):
            action = (
                self.settings.image_action if hit.kind == "image" else self.settings.link_action
            )
            out.append(
                (f"link.{hit.kind}", action, f"{hit.kind} to {hit.host} carries data", hit.start)
            )
        return out

    def _answer(
        self, exchange: Exchange, text: str, stop_reason: Any
    ) -> list[tuple[str, str, str]]:
        """The final answer against the workspace's response schema, if there is one."""
        schema = self.settings.schema_for(self._workspace(exchange))
        if schema is None or stop_reason not in ("end_turn", "stop_sequence", None):
            return []
        action = self.settings.schema_action
        try:
            value = orjson.loads(text.strip())
        except orjson.JSONDecodeError:
            return [("response.schema", action, "the answer is not the JSON the schema asks for")]
        problems = validate(value, schema)
        if not problems:
            return []
        return [
            (
                "response.schema",
                action,
                "the answer breaks the response schema at " + ", ".join(problems[:5]),
            )
        ]

    def check_message(self, exchange: Exchange, message: dict[str, Any]) -> Verdict:
        content = message.get("content")
        if not isinstance(content, list):
            return ALLOW
        problems: list[tuple[str, str, str]] = []
        if self.settings.schema_for(self._workspace(exchange)) is not None:
            answer = "".join(
                b["text"]
                for b in content
                if isinstance(b, dict)
                and b.get("type") == "text"
                and isinstance(b.get("text"), str)
            )
            problems += self._answer(exchange, answer, message.get("stop_reason"))
        for block in content:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "tool_use" and isinstance(block.get("name"), str):
                problems += self._tool_name(exchange, block["name"])
                problems += self._tool_input(exchange, block["name"], block.get("input"))
            elif kind == "text" and isinstance(block.get("text"), str):
                problems += [p[:3] for p in self._links(exchange, block["text"])]
                problems += [p[:3] for p in self._sensitive(block["text"])]
        return self._verdict(exchange, problems)

    def check_event(self, exchange: Exchange, event: StreamEvent) -> Verdict:
        data = event.data
        if data is None:
            return ALLOW
        state: _Streamed | None = exchange.scratch.get(_OUTPUT)
        if state is None:
            state = exchange.scratch[_OUTPUT] = _Streamed()
        name = event.event
        if name == "message_delta" and self.settings.schema_for(self._workspace(exchange)):
            delta = data.get("delta")
            stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            return self._verdict(
                exchange, self._answer(exchange, "".join(state.answer), stop_reason)
            )
        index = data.get("index")
        if not isinstance(index, int):
            return ALLOW
        if name == "content_block_start":
            block = data.get("content_block")
            if isinstance(block, dict) and block.get("type") == "tool_use":
                name_value = block.get("name")
                tool = name_value if isinstance(name_value, str) else ""
                state.tools[index] = (tool, [], 0)
                return self._verdict(exchange, self._tool_name(exchange, tool))
            if isinstance(block, dict) and block.get("type") == "text":
                state.text[index] = ""
                state.total[index] = 0
            return ALLOW
        if name == "content_block_delta":
            delta = data.get("delta")
            if not isinstance(delta, dict):
                return ALLOW
            if delta.get("type") == "input_json_delta" and index in state.tools:
                tool, parts, size = state.tools[index]
                piece = delta.get("partial_json")
                if isinstance(piece, str) and size + len(piece) <= _MAX_TOOL_JSON:
                    parts.append(piece)
                    state.tools[index] = (tool, parts, size + len(piece))
                return ALLOW
            if delta.get("type") == "text_delta" and index in state.text:
                piece = delta.get("text")
                if not isinstance(piece, str):
                    return ALLOW
                if state.answer_size + len(piece) <= _MAX_TOOL_JSON and self.settings.schema_for(
                    self._workspace(exchange)
                ):
                    state.answer.append(piece)
                    state.answer_size += len(piece)
                buffer = state.text[index] + piece
                base = state.total[index] - len(state.text[index])
                state.total[index] += len(piece)
                fresh: list[tuple[str, str, str]] = []
                found = self._links(exchange, buffer) if "http" in buffer.lower() else []
                found += self._sensitive(buffer)
                for cls, action, what, start in found:
                    key = (cls, what, base + start)
                    if key not in state.reported:
                        state.reported.add(key)
                        fresh.append((cls, action, what))
                state.text[index] = buffer[-_LINK_TAIL:]
                return self._verdict(exchange, fresh) if fresh else ALLOW
            return ALLOW
        if name == "content_block_stop":
            state.text.pop(index, None)
            entry = state.tools.pop(index, None)
            if entry is None:
                return ALLOW
            tool, parts, _size = entry
            try:
                value = orjson.loads("".join(parts)) if parts else {}
            except orjson.JSONDecodeError:
                value = None
            if value is None and parts:
                return self._verdict(
                    exchange,
                    [
                        (
                            "tool.bad_arguments",
                            self.settings.tool_action,
                            f"tool {tool!r} arguments are not JSON",
                        )
                    ]
                    if self.settings.tools_for(self._workspace(exchange)).schemas.get(tool)
                    else [],
                )
            return self._verdict(exchange, self._tool_input(exchange, tool, value))
        return ALLOW

    def finish(self, exchange: Exchange) -> None:
        exchange.scratch.pop(_OUTPUT, None)

"""The pipeline: order, transforms, fail-closed behaviour, one record per verdict."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tutela.errors import ErrorKind
from tutela.guard import RequestGuard, ResponseGuard, StreamEvent
from tutela.pipeline import Pipeline, default_guards
from tutela.policy import Policy
from tutela.types import Exchange, Finding, Verdict


def exchange(body: dict[str, Any] | None = None) -> Exchange:
    return Exchange(
        request_id="req_test",
        endpoint="messages",
        method="POST",
        headers={},
        raw_body=b"",
        body=body or {"model": "m", "messages": []},
    )


class Recorder:
    def __init__(
        self,
        name: str,
        verdict: Verdict | None = None,
        *,
        raises: bool = False,
        sleep: float = 0.0,
        on_error: str = "block",
    ) -> None:
        self.name = name
        self.verdict = verdict or Verdict.allow()
        self.raises = raises
        self.sleep = sleep
        self.on_error = on_error
        self.seen: list[Any] = []

    async def check_request(self, ex: Exchange) -> Verdict:
        self.seen.append(dict(ex.body or {}))
        if self.sleep:
            await asyncio.sleep(self.sleep)
        if self.raises:
            raise RuntimeError("boom with secret sk-live-123")
        return self.verdict

    def check_message(self, ex: Exchange, message: dict[str, Any]) -> Verdict:
        if self.raises:
            raise RuntimeError("boom")
        self.seen.append(message)
        return self.verdict

    def check_event(self, ex: Exchange, event: StreamEvent) -> Verdict:
        if self.raises:
            raise RuntimeError("boom")
        self.seen.append(event.event)
        return self.verdict

    def finish(self, ex: Exchange) -> None:
        self.seen.append("finish")


def test_recorders_satisfy_the_protocols() -> None:
    assert isinstance(Recorder("a"), RequestGuard)
    assert isinstance(Recorder("a"), ResponseGuard)


async def test_guards_run_in_order_and_transforms_reach_the_next_guard() -> None:
    first = Recorder("first", Verdict.transform("rewrote", {"model": "m", "messages": [], "x": 1}))
    second = Recorder("second")
    ex = exchange()
    assert await Pipeline([first, second], []).check_request(ex) is None
    assert second.seen == [{"model": "m", "messages": [], "x": 1}]
    assert ex.body == {"model": "m", "messages": [], "x": 1}
    assert [(r.guard, r.action) for r in ex.records] == [
        ("first", "transform"),
        ("second", "allow"),
    ]


async def test_block_stops_the_chain_and_is_recorded_with_classes() -> None:
    blocker = Recorder("dlp", Verdict.block("card number", Finding(cls="fin.credit_card")))
    after = Recorder("after")
    ex = exchange()
    verdict = await Pipeline([blocker, after], []).check_request(ex)
    assert verdict is not None and verdict.blocked
    assert after.seen == []
    assert ex.records[-1].classes == ("fin.credit_card",)


@pytest.mark.parametrize(
    ("guard", "reason"),
    [
        (Recorder("faulty", raises=True), "failed (RuntimeError)"),
        (Recorder("slow", sleep=1.0), "timed out"),
    ],
)
async def test_a_failing_guard_blocks_by_default(guard: Recorder, reason: str) -> None:
    ex = exchange()
    verdict = await Pipeline([guard], [], timeout=0.05).check_request(ex)
    assert verdict is not None and verdict.blocked
    assert verdict.error is ErrorKind.GUARD_FAILURE
    assert reason in verdict.reason
    assert "sk-live-123" not in verdict.reason
    assert ex.records[-1].error


async def test_on_error_allow_records_and_continues() -> None:
    guard = Recorder("lenient", raises=True, on_error="allow")
    after = Recorder("after")
    ex = exchange()
    assert await Pipeline([guard, after], []).check_request(ex) is None
    assert after.seen
    assert ex.records[0].error and ex.records[0].action == "allow"


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Pipeline([Recorder("a"), Recorder("a")], [])


def test_response_guards_see_every_stream_event_and_can_stop_it() -> None:
    watcher = Recorder("watcher")
    pipeline = Pipeline([], [watcher])
    ex = exchange()
    for name in ("message_start", "ping", "content_block_delta", "message_stop"):
        verdict, raw = pipeline.check_event(ex, StreamEvent(event=name, data={}, raw=b"x"))
        assert verdict is None and raw == b"x"
    assert watcher.seen == ["message_start", "ping", "content_block_delta", "message_stop"]

    stopper = Pipeline([], [Recorder("stopper", Verdict.block("leak"))])
    verdict, raw = stopper.check_event(
        ex, StreamEvent(event="content_block_delta", data={}, raw=b"x")
    )
    assert verdict is not None and raw == b""


def test_stream_transform_reserialises_the_event() -> None:
    new = {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "[EMAIL_1]"}}
    pipeline = Pipeline([], [Recorder("restore", Verdict.transform("restored", new))])
    verdict, raw = pipeline.check_event(
        exchange(), StreamEvent(event="content_block_delta", data={}, raw=b"old")
    )
    assert verdict is None
    assert raw.startswith(b"event: content_block_delta\ndata: {") and raw.endswith(b"\n\n")
    assert b"[EMAIL_1]" in raw


def test_failing_response_guard_fails_closed_on_streams_and_messages() -> None:
    pipeline = Pipeline([], [Recorder("broken", raises=True)])
    verdict, _ = pipeline.check_event(exchange(), StreamEvent(event="ping", data={}, raw=b""))
    assert verdict is not None and verdict.error is ErrorKind.GUARD_FAILURE
    verdict, _ = pipeline.check_message(exchange(), {"content": []})
    assert verdict is not None and verdict.blocked


def test_default_guard_order() -> None:
    class Services:
        from tutela.counters import MemoryCounters

        counters = MemoryCounters()

    pipeline = default_guards(Policy(), Services())
    assert [g.name for g in pipeline.request_guards] == [
        "limits",
        "rate_limits",
        "dlp",
        "injection",
    ]
    assert [g.name for g in pipeline.response_guards] == [
        "rate_limits",
        "dlp",
        "injection",
        "output",
    ]


def test_a_stream_guard_can_send_none_one_or_several_events_for_one() -> None:
    first = StreamEvent.of("content_block_delta", {"type": "content_block_delta", "n": 1})
    second = StreamEvent.of("content_block_stop", {"type": "content_block_stop"})
    watcher = Recorder("watcher")
    many = Pipeline([], [Recorder("many", Verdict.replace_events("split", first, second)), watcher])
    ex = exchange()
    verdict, raw = many.check_event(ex, StreamEvent(event="content_block_stop", data={}, raw=b"x"))
    assert verdict is None and raw == first.raw + second.raw
    assert watcher.seen == ["content_block_delta", "content_block_stop"]  # later guards see each
    none = Pipeline([], [Recorder("hold", Verdict.replace_events("held"))])
    verdict, raw = none.check_event(ex, StreamEvent(event="content_block_delta", data={}, raw=b"x"))
    assert verdict is None and raw == b""


def test_repeated_stream_transforms_are_recorded_once() -> None:
    new = {"type": "content_block_delta"}
    pipeline = Pipeline([], [Recorder("restore", Verdict.transform("restored", new))])
    ex = exchange()
    for _ in range(5):
        pipeline.check_event(ex, StreamEvent(event="content_block_delta", data={}, raw=b"x"))
    assert [(r.guard, r.phase, r.action) for r in ex.records] == [
        ("restore", "stream", "transform")
    ]

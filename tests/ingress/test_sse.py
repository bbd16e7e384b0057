"""Splitting SSE byte streams into events, whatever the chunk boundaries."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tutela.ingress.sse import SseSplitter

STREAM = (
    b'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5}}}\n\n'
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"h\\u00e9"}}\n\n'
    b"event: future_event\ndata: not json\n\n"
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def test_whole_stream_splits_into_exact_events() -> None:
    events = SseSplitter().feed(STREAM)
    assert [e.event for e in events] == [
        "message_start",
        "ping",
        "content_block_delta",
        "future_event",
        "message_stop",
    ]
    assert b"".join(e.raw for e in events) == STREAM
    assert events[0].data == {"type": "message_start", "message": {"usage": {"input_tokens": 5}}}
    assert events[3].data is None  # unknown events pass through unparsed


@given(cuts=st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_events(cuts: list[int]) -> None:
    splitter = SseSplitter()
    bounds = [0, *sorted(cuts), len(STREAM)]
    events = []
    for start, end in itertools.pairwise(bounds):
        events += splitter.feed(STREAM[start:end])
    assert b"".join(e.raw for e in events) == STREAM
    assert splitter.pending == b""


def test_crlf_and_multiline_data() -> None:
    events = SseSplitter().feed(b'event: x\r\ndata: {"a":\r\ndata: 1}\r\n\r\n')
    assert events[0].event == "x" and events[0].data == {"a": 1}


def test_unterminated_event_stays_pending() -> None:
    splitter = SseSplitter()
    assert splitter.feed(b"event: ping\ndata: {}\n") == []
    assert splitter.pending == b"event: ping\ndata: {}\n"

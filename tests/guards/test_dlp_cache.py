"""The DLP scan cache: a conversation's history is not rescanned, and answers never change."""

from __future__ import annotations

import random
from typing import Any

from tutela.detectors import Scanner, Span
from tutela.guards.dlp import DlpGuard, ScanCache, _scan_parts
from tutela.policy import parse_policy
from tutela.types import Action, Exchange, Principal

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"
FILLER = "The quarterly review covers travel, training and the new office lease. " * 6


def guard(yaml: str = "") -> DlpGuard:
    return DlpGuard(parse_policy("guards:\n  dlp:\n" + yaml if yaml else "").guards.dlp)


def exchange(body: dict[str, Any]) -> Exchange:
    return Exchange(
        request_id="req_test",
        endpoint="messages",
        method="POST",
        headers={},
        raw_body=b"",
        body=body,
        principal=Principal(key_id="k1", workspace_id="w1", workspace="default", role="analyst"),
    )


def conversation(turns: int) -> dict[str, Any]:
    """A growing chat: every turn resends the history, with PII in some long turns."""
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        extra = f" Contact {EMAIL} or pay with {CARD}." if i % 3 == 0 else ""
        messages.append({"role": "user", "content": f"Turn {i}. {FILLER}{extra}"})
        messages.append({"role": "assistant", "content": f"Answer {i}. {FILLER}"})
    messages.append({"role": "user", "content": "short question"})
    return {"model": "claude-sonnet-4-6", "max_tokens": 10, "system": FILLER, "messages": messages}


class CountingScanner:
    """The real scanner, counting the characters it is asked to scan."""

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner
        self.chars = 0

    def scan(self, text: str) -> list[Span]:
        self.chars += len(text)
        return self.scanner.scan(text)


def test_history_is_scanned_once_and_every_turn_gets_the_same_verdict() -> None:
    cached, uncached = guard(), guard("    cache_entries: 0\n")
    counter = CountingScanner(cached.scanner)
    cached.scanner = counter  # type: ignore[assignment]
    for turns in range(1, 8):
        body = conversation(turns)
        with_cache = cached.check_body(exchange(body), body)
        without = uncached.check_body(exchange(body), body)
        assert with_cache.action == without.action
        assert with_cache.findings == without.findings
        assert with_cache.body == without.body
    # Each long text (and the system prompt) was scanned once, not once per turn; the
    # short closing question is scanned every turn (with the separators of a joined scan).
    distinct = len(FILLER) + sum(
        len(m["content"]) for m in conversation(7)["messages"] if len(m["content"]) >= 256
    )
    assert distinct <= counter.chars <= distinct + 7 * 32
    assert cached.cache.hits > 0
    assert uncached.cache.hits == 0 and len(uncached.cache) == 0


def test_a_pseudonymised_history_keeps_its_findings_when_served_from_the_cache() -> None:
    g = guard("    actions: {pii.email: pseudonymise, fin.credit_card: redact}\n")
    body = conversation(4)
    first = g.check_body(exchange(body), body)
    second = g.check_body(exchange(body), body)
    assert first.action is Action.TRANSFORM and second.action is Action.TRANSFORM
    assert first.body == second.body
    assert EMAIL not in str(second.body) and CARD not in str(second.body)


def test_cached_and_uncached_scans_agree_on_random_mixes_of_parts() -> None:
    scanner = guard().scanner
    rng = random.Random(11)
    pieces = [FILLER, f"Mail {EMAIL} now.", f"Card {CARD}.", "ok", "x" * 300, "IP 10.1.2.3 "]
    cache = ScanCache(entries=64)
    for _ in range(200):
        parts = [
            (("messages", i, "content"), "".join(rng.choices(pieces, k=rng.randint(1, 4))))
            for i in range(rng.randint(1, 6))
        ]
        assert _scan_parts(scanner, parts, cache) == _scan_parts(scanner, parts)
    assert cache.hits > 0 and len(cache) <= 64


def test_the_cache_keeps_at_most_its_entries_and_forgets_the_oldest() -> None:
    cache = ScanCache(entries=3)
    keys = [cache.key(f"{i} " + FILLER) for i in range(5)]
    assert all(k is not None for k in keys)
    for k in keys:
        cache.put(k, [])  # type: ignore[arg-type]
    assert len(cache) == 3
    assert cache.get(keys[0]) is None  # type: ignore[arg-type]
    assert cache.get(keys[4]) == ()  # type: ignore[arg-type]
    assert cache.key("short text") is None  # below min_chars: always scanned


def test_keys_are_keyed_per_cache() -> None:
    assert ScanCache(8).key(FILLER) != ScanCache(8).key(FILLER)


def test_finding_dense_parts_are_not_kept() -> None:
    cache = ScanCache(entries=8, max_spans=2)
    key = cache.key(FILLER)
    assert key is not None
    many = [Span(cls="pii.email", start=i, end=i + 1, score=0.9) for i in range(3)]
    cache.put(key, many)
    assert len(cache) == 0 and cache.get(key) is None
    cache.put(key, many[:2])
    assert cache.get(key) == tuple(many[:2])

"""Canary tokens: stable per workspace, secret-keyed, found across deltas."""

from __future__ import annotations

import pytest

from tutela.injection.canary import CanaryWatch, canary_for, plant_text


def test_one_token_per_workspace_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_CANARY_SECRET", "s1")
    a = canary_for("support", "TEST_CANARY_SECRET")
    assert a == canary_for("support", "TEST_CANARY_SECRET")
    assert a != canary_for("sales", "TEST_CANARY_SECRET")
    monkeypatch.setenv("TEST_CANARY_SECRET", "s2")
    assert a != canary_for("support", "TEST_CANARY_SECRET")
    assert a in plant_text(a)


def test_watch_finds_a_token_split_across_pieces() -> None:
    token = canary_for("support")
    watch = CanaryWatch(token)
    pieces = ["Sure, the marker is ", token[:5], token[5:11], token[11:], " ok"]
    seen = [watch.feed(0, piece) for piece in pieces]
    assert seen == [False, False, False, True, False]


def test_watch_keeps_blocks_apart() -> None:
    token = canary_for("support")
    watch = CanaryWatch(token)
    assert not watch.feed(0, token[:6])
    assert not watch.feed(1, token[6:])

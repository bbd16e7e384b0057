"""Arbitrary, huge and pathological input: no crash, valid spans, linear work."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutela.detectors import Scanner, ScannerConfig, builtin
from tutela.detectors.registry import UNBOUNDED

SCANNER = Scanner()
PYTHON = Scanner(ScannerConfig(engine="python"))


def _check(text: str, spans: list) -> None:  # type: ignore[type-arg]
    last = 0
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert s.start >= last
        last = s.end


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_unicode(text: str) -> None:
    _check(text, SCANNER.scan(text))


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000))
def test_arbitrary_utf8_text(text: str) -> None:
    _check(text, SCANNER.scan(text))


PATHOLOGICAL = [
    "a" * 50_000,
    "1" * 50_000,
    "1 " * 25_000,
    "1-" * 25_000,
    "A" * 50_000,
    "Aa " * 15_000,
    "a@" * 25_000,
    "a." * 25_000 + "@",
    "x" * 25_000 + "@" + "a." * 12_000,
    "://" * 15_000,
    "-----BEGIN PRIVATE KEY-----" + "A" * 50_000,
    "eyJ" + "a" * 25_000 + ".eyJ" + "b" * 25_000,
    "password=" * 5_000,
    "[" * 25_000,
    "1." * 25_000,
    ":" * 25_000 + "1",
    "ab:" * 15_000,
    "John " * 10_000,
    "passport " + "1" * 25_000,
    "\ud800" * 2_000 + "é" * 12_000,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=[repr(t[:12]) for t in PATHOLOGICAL])
@pytest.mark.parametrize("scanner", [SCANNER, PYTHON], ids=["auto", "python"])
def test_pathological_inputs_finish(scanner: Scanner, text: str) -> None:
    _check(text, scanner.scan(text))


def test_huge_input_scans() -> None:
    chunk = "Contact jane@example.com or +44 20 7946 0958, card 4111 1111 1111 1111. " * 50
    text = chunk * 80  # ~ 300 KB
    spans = SCANNER.scan(text)
    assert len(spans) == 3 * 50 * 80


@pytest.mark.parametrize("detector", builtin.DETECTORS, ids=lambda d: d.name)
def test_every_pattern_is_bounded(detector: builtin.Detector) -> None:
    """No unbounded repetition: the Python fallback stays linear in the input."""
    assert detector.max_width() < UNBOUNDED
    outside_classes = re.sub(r"\[(?:\\.|[^\]])*\]", "", detector.pattern)
    assert not re.search(r"(?<!\\)[\^$]", outside_classes)

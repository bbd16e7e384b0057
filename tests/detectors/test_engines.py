"""The Hyperscan engine and the pure-Python fallback give identical spans."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tutela.detectors import Scanner, ScannerConfig, hyperscan_available
from tutela.detectors.engines import _char_offsets
from tutela.detectors.registry import strip_lookarounds

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")

_CONFIG = {"internal_domains": ("corp.example.com",)}
HS = Scanner(ScannerConfig(engine="hyperscan", **_CONFIG)) if hyperscan_available() else None
PY = Scanner(ScannerConfig(engine="python", **_CONFIG))

FRAGMENTS = [
    "john.smith@example.com",
    "+44 20 7946 0958",
    "(415) 555-2671",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "536-22-1234",
    "10.0.0.12",
    "8.8.8.8",
    "fd00::1",
    "AKIAQ3EGR7MBX2LT5NPW",
    "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",
    "password=Hunter2!x",
    "postgres://u:p4ssw0rd@db:5432/x",
    "https://a.b/c?d",
    "db1.corp.example.com",
    "DOB",
    "born",
    "MRN",
    "NPI",
    "1234567893",
    "diagnosis",
    "E11.9",
    "passport",
    "Maria Gonzalez",
    "Dr. Okafor",
    "José García",
    "742 Evergreen Terrace",
    "Müllerstraße 12",
    "api_key=",
    "9f8A7b6C5d4E3f2G1h0IjKlMn",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijklmnop",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "sk-ant-api03-",
    "T3BlbkFJ",
    "é",
    "🙂",
    "\u200b",
    "ß",
    "Ω",
    "\n",
    " ",
    "-",
    ".",
    ":",
    "@",
    "/",
    "[",
    "0",
    "9",
    "A",
    "x",
]

texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map(
    "".join
)


def _spans(scanner: Scanner | None, text: str) -> list[tuple[str, int, int, float]]:
    assert scanner is not None
    return [(s.cls, s.start, s.end, s.score) for s in scanner.scan(text)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_engines_agree(text: str) -> None:
    assert _spans(HS, text) == _spans(PY, text)


@pytest.mark.parametrize("sep", [" ", "", "-", "é", "🙂", "\n"])
def test_engines_agree_on_dense_text(sep: str) -> None:
    text = sep.join(FRAGMENTS * 3)
    assert _spans(HS, text) == _spans(PY, text)


def test_char_offsets_map_bytes_to_str_indices() -> None:
    text = "aé🙂b"
    data = text.encode()
    offsets = _char_offsets(data, [0, 1, 2, 3, 4, 5, 7, 8])
    assert offsets == {0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 7: 3, 8: 4}


def test_strip_lookarounds_keeps_classes_and_escapes() -> None:
    assert strip_lookarounds(r"(?<![a-z(])x(?=\))[)(]\(y(?!z)") == r"x[)(]\(y"

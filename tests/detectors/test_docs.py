"""Every class the scanner can report is documented in docs/dlp.md."""

from __future__ import annotations

from pathlib import Path

from tutela.detectors import VALIDATORS, Scanner

DOC = Path(__file__).resolve().parents[2] / "docs" / "dlp.md"


def test_every_class_is_documented() -> None:
    text = DOC.read_text()
    missing = sorted(c for c in Scanner().classes if f"`{c}`" not in text)
    assert missing == []


def test_every_validator_is_documented() -> None:
    text = DOC.read_text()
    assert sorted(v for v in VALIDATORS if f"`{v}`" not in text) == []

"""Exact data matching: hashed identifiers only, found without the plaintext."""

from __future__ import annotations

from pathlib import Path

from tutela.detectors import EdmMatcher, Scanner, ScannerConfig, build_edm_file


def test_edm_file_holds_no_plaintext_and_matches(tmp_path: Path) -> None:
    path = tmp_path / "customers.edm"
    ids = ["CUST-100234", "CUST-100235", "cust-778899"]
    assert build_edm_file(ids, path, cls="custom.customer_id", pepper=b"k") == 3
    raw = path.read_text()
    assert "100234" not in raw and "778899" not in raw
    scanner = Scanner(ScannerConfig(enabled=("custom.*",), edm=(path,), edm_pepper=b"k"))
    text = "refund CUST-100234 and cust-778899 but not CUST-999999"
    got = [text[s.start : s.end] for s in scanner.scan(text)]
    assert got == ["CUST-100234", "cust-778899"]


def test_edm_wrong_pepper_matches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ids.edm"
    build_edm_file(["ACCT-55555"], path, cls="custom.account", pepper=b"right")
    matcher = EdmMatcher.load(path, pepper=b"wrong")
    assert not matcher.contains("ACCT-55555")
    assert "ACCT" not in repr(matcher)
    assert EdmMatcher.load(path, pepper=b"right").contains("acct 55555")

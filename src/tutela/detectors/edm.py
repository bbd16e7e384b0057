"""Exact data matching: find known identifiers (customer numbers, account ids...) without
keeping them in plaintext.

``build_edm_file`` turns a list of plaintext identifiers into a file holding only a
random salt, the shape of the identifiers (a candidate pattern) and truncated
HMAC-SHA-256 digests of each normalised identifier. ``EdmMatcher`` loads that file; at scan
time candidates of the right shape are normalised, hashed and looked up. The plaintext
never enters the file or the matcher.

Identifiers with little entropy (a 9-digit number) can be recovered from their hashes by
trying every value. Pass a ``pepper`` (a secret kept outside the file, for example in
``TUTELA_EDM_PEPPER``) to both ``build_edm_file`` and the scanner so that the file alone
is useless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tutela.detectors.registry import Detector

FORMAT = "tutela-edm/1"
DIGEST_BYTES = 16
_NORMALISERS: dict[str, Callable[[str], str]] = {
    "alnum_upper": lambda s: re.sub(r"[^0-9A-Za-z]", "", s).upper(),
    "casefold": lambda s: " ".join(s.split()).casefold(),
    "digits": lambda s: re.sub(r"[^0-9]", "", s),
    "exact": lambda s: s,
}


def _digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).digest()[:DIGEST_BYTES].hex()


def infer_pattern(values: Iterable[str]) -> str:
    """A bounded candidate pattern covering every value's characters and length."""
    lengths: list[int] = []
    chars: set[str] = set()
    for value in values:
        lengths.append(len(value))
        for ch in value:
            if ch.isdigit():
                chars.add("0-9")
            elif "a" <= ch <= "z":
                chars.add("a-z")
            elif "A" <= ch <= "Z":
                chars.add("A-Z")
            elif ch in "-_.@+/ ":
                chars.add(re.escape(ch) if ch != " " else " ")
            else:
                raise ValueError("EDM identifiers must be ASCII letters, digits and -_.@+/ space")
    if not lengths:
        raise ValueError("no identifiers given")
    cls = "".join(sorted(chars))
    lo, hi = min(lengths), max(lengths)
    return rf"(?<![A-Za-z0-9_])[{cls}]{{{lo},{hi}}}(?![A-Za-z0-9_])"


def build_edm_file(
    identifiers: Iterable[str],
    out: Path,
    *,
    cls: str,
    normalise: str = "alnum_upper",
    pattern: str | None = None,
    pepper: bytes = b"",
) -> int:
    """Write the hashed EDM file for ``identifiers``; return how many distinct ones."""
    if normalise not in _NORMALISERS:
        raise ValueError(f"normalise must be one of {', '.join(_NORMALISERS)}")
    norm = _NORMALISERS[normalise]
    raw = [i.strip() for i in identifiers if i.strip()]
    salt = os.urandom(16)
    key = pepper + salt
    hashes = sorted({_digest(key, norm(i)) for i in raw if norm(i)})
    doc = {
        "format": FORMAT,
        "class": cls,
        "salt": salt.hex(),
        "normalise": normalise,
        "pattern": pattern or infer_pattern(raw),
        "hashes": hashes,
    }
    out.write_text(json.dumps(doc, separators=(",", ":")))
    return len(hashes)


@dataclass(frozen=True, slots=True)
class EdmMatcher:
    """Membership test over the hashed identifiers of one EDM file."""

    cls: str
    pattern: str
    normalise: str
    detector_name: str
    _key: bytes
    _hashes: frozenset[str]

    @classmethod
    def load(cls, path: Path, *, pepper: bytes = b"") -> EdmMatcher:
        doc = json.loads(Path(path).read_text())
        if doc.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file")
        if doc["normalise"] not in _NORMALISERS:
            raise ValueError(f"{path}: unknown normaliser {doc['normalise']!r}")
        salt = bytes.fromhex(doc["salt"])
        name = f"edm.{hashlib.sha256(salt).hexdigest()[:8]}.{doc['class']}"
        return cls(
            cls=doc["class"],
            pattern=doc["pattern"],
            normalise=doc["normalise"],
            detector_name=name,
            _key=pepper + salt,
            _hashes=frozenset(doc["hashes"]),
        )

    def __len__(self) -> int:
        return len(self._hashes)

    def contains(self, value: str) -> bool:
        norm = _NORMALISERS[self.normalise](value)
        return bool(norm) and _digest(self._key, norm) in self._hashes

    def candidate_detector(self) -> Detector:
        return Detector(
            name=self.detector_name, cls=self.cls, pattern=self.pattern, score=0.95, priority=3
        )

    def __repr__(self) -> str:
        return f"EdmMatcher(cls={self.cls!r}, identifiers={len(self._hashes)})"

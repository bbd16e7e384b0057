"""Spaces other than ASCII's, made ASCII, one character for one.

Python's ``\\s`` takes two dozen characters for a space (no-break, ideographic, ogham, line
separator, U+001C...); Hyperscan's takes six. A card number or an instruction spaced with
the others is read as words by a Python pattern that Hyperscan never reports as a
candidate, so the detectors see text with ASCII spaces only. Same length, so every offset
found in the result is an offset into the original.
"""

from __future__ import annotations

import re

__all__ = ["ODD_SPACES", "ascii_spaces"]

_BREAKS = "\x85\u2028\u2029"  # line and paragraph separators: a line break
ODD_SPACES = "".join(
    c for c in map(chr, range(0x110000)) if c.isspace() and c not in " \t\n\r\x0b\x0c"
)
_ODD_SPACE = re.compile(f"[{re.escape(ODD_SPACES)}]")
_AS_ASCII = str.maketrans({c: "\n" if c in _BREAKS else " " for c in ODD_SPACES})


def ascii_spaces(text: str) -> str:
    """``text`` with every space Python knows written as " " (or "\\n" for a line or
    paragraph separator); ``text`` itself when it has none (one regex pass)."""
    if _ODD_SPACE.search(text) is None:
        return text
    return text.translate(_AS_ASCII)

"""Text normalisation before injection detection: what the model and rules actually read.

Attackers hide instructions from humans and filters with invisible characters (zero-width,
bidi controls, Unicode tag characters that smuggle ASCII), lookalike letters from other
scripts, compatibility forms (fullwidth, mathematical alphanumerics) and encodings
(base64, hex). ``normalise`` undoes each of these and *counts* what it undid, because the
hiding is itself evidence. Tag-character runs and decoded payloads are returned as extra
texts to scan. The common case (plain ASCII, no long encoded runs) costs one ``isascii``
check and two regex searches.

This module never logs and never keeps text beyond the call.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
import unicodedata
from dataclasses import dataclass

from tutela.asciify import ascii_full_width, ascii_spaces

__all__ = ["Normalised", "normalise"]

# Zero-width and other format characters that render as nothing.
_ZERO_WIDTH = frozenset(
    "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f\u115f\u1160\u3164"
)
# Bidirectional controls: reorder what a human sees against what a model reads.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Direction *marks* (LRM, RLM, ALM) reorder nothing by themselves, and text that mixes
# Arabic or Hebrew with Latin is full of them: stripped, never counted.
_DIRECTION_MARKS = frozenset("\u200e\u200f\u061c")
_TAG_FIRST, _TAG_LAST = 0xE0000, 0xE007F
_FLAG = "\U0001f3f4"
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")

# Lookalikes folded to Latin inside words that also hold Latin letters (mixed script).
_HOMOGLYPHS = str.maketrans(
    # Cyrillic and Greek letters that look like the Latin letter at the same position below
    (
        "\u0430\u0432\u0435\u0451\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443"
        "\u0445\u0456\u0458\u0455\u0501\u051b\u051d\u04cf\u0261\u0410\u0412\u0415"
        "\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405\u0423"
        "\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7\u0391\u0392"
        "\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0396"
    ),
    "abeekmhopctyxijsdqwlgABEKMHOPCTXIJSYaeikvoptuxABEHIKMNOPTYXZ",
)
_LOOKALIKE = frozenset(k for k in _HOMOGLYPHS if isinstance(k, int))
_WORD = re.compile(r"\w+")
_LOOKALIKE_CHAR = re.compile("[" + "".join(map(chr, sorted(_LOOKALIKE))) + "]")
# Letters of U+0370-U+052F, in runs: counting run lengths makes one object a word, not a
# letter (4 KB of Russian: 0.30 -> 0.15 ms).
_GREEK_OR_CYRILLIC_RUN = re.compile(r"[^\W\d_\u0000-\u036f\u0530-\U0010ffff]+")
_ASCII_LETTERS = string.ascii_letters.encode()
# What the character loop of ``normalise`` removes or counts; most texts hold none of it.
_HIDDEN = re.compile(
    "["
    + "".join(sorted(_ZERO_WIDTH | _BIDI | _DIRECTION_MARKS))
    + chr(_TAG_FIRST)
    + "-"
    + chr(_TAG_LAST)
    + "]"
)

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX = re.compile(r"(?:(?:\\x|%|0x)?[0-9A-Fa-f]{2}){12,}")
_SPACED_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}[ :]){11,}[0-9A-Fa-f]{2}")
_EDGES = "\"'`()[]{}<>.,;:!?*"
_MAX_DECODED = 8  # payloads per text: bounds the work an input full of base64 can cause
_MAX_PAYLOAD = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalised:
    """The text as a model should read it, what was hidden in it, and counts of the hiding."""

    text: str
    payloads: tuple[str, ...] = ()
    zero_width: int = 0
    bidi: int = 0
    tags: int = 0
    homoglyphs: int = 0
    encoded: int = 0

    @property
    def invisible(self) -> int:
        return self.zero_width + self.bidi + self.tags


def _printable_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 8:
        return None
    letters = sum(c.isalpha() or c == " " for c in text)
    if letters < 0.7 * len(text) or " " not in text:
        return None  # binary, a key, an id: not words
    return text


def _decode_base64(token: str) -> str | None:
    if len(token) % 4 == 1:
        return None
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable_text(raw)


def _decode_hex(token: str) -> str | None:
    digits = re.sub(r"\\x|%|0x|[ :]", "", token)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _printable_text(bytes.fromhex(digits))
    except ValueError:
        return None


# Hex digits, separators (" ", ":") and anything else, as one byte each: _SPACED_HEX
# matches somewhere exactly when this run is in the text so read (its match is ASCII).
_HEX_SHAPES = bytes.maketrans(
    bytes(range(256)),
    bytes(
        ord("h") if chr(c) in string.hexdigits else ord("s") if chr(c) in " :" else ord("x")
        for c in range(256)
    ),
)
_SPACED_HEX_SHAPE = b"hhs" * 11 + b"hh"


def _has_spaced_hex(text: str) -> bool:
    """``_SPACED_HEX.search(text) is not None``, for a twentieth of the time: a translation
    of the bytes and a substring search, where the regex tries every hex letter of prose."""
    shapes = text.encode("utf-8", "surrogatepass").translate(_HEX_SHAPES)
    return _SPACED_HEX_SHAPE in shapes


def _decode_payloads(text: str) -> list[str]:
    """Base64 and hex runs that decode to words. Splits on whitespace first: a regex search
    over the whole text costs a try at every position, a split costs one pass."""
    found: list[str] = []
    words = text.split()
    candidates = [t.strip(_EDGES) for t in words if len(t) >= 20]
    if list(map(len, words)).count(2) >= 12 and _has_spaced_hex(text):
        candidates += [m.group() for m in _SPACED_HEX.finditer(text)]
    for token in candidates:
        if _HEX.fullmatch(token) or _SPACED_HEX.fullmatch(token):
            decoded = _decode_hex(token[: _MAX_PAYLOAD * 2])
        elif _BASE64.fullmatch(token) and not (token.isalpha() or token.isdigit()):
            decoded = _decode_base64(token[:_MAX_PAYLOAD])
        else:
            continue
        if decoded is not None:
            found.append(decoded)
            if len(found) >= _MAX_DECODED:
                break
    return found


def _fold_word(match: re.Match[str]) -> str:
    word = match.group()
    if any(ord(c) in _LOOKALIKE for c in word) and any("a" <= c.lower() <= "z" for c in word):
        return word.translate(_HOMOGLYPHS)
    return word


def _mostly_cyrillic_or_greek(text: str) -> bool:
    encoded = text.encode("utf-8", "surrogatepass")  # an ASCII letter is one byte < 0x80
    latin = len(encoded) - len(encoded.translate(None, _ASCII_LETTERS))
    return sum(map(len, _GREEK_OR_CYRILLIC_RUN.findall(text))) > latin


def _fold(text: str) -> tuple[str, int]:
    """Lookalike letters folded to Latin in mixed-script words, and how many were."""
    if text.isascii() or _LOOKALIKE_CHAR.search(text) is None:
        return text, 0
    if _mostly_cyrillic_or_greek(text):
        # In a Russian or Greek text, a word with a Latin letter in it is a typo of the
        # writer's keyboard layout, not a disguise aimed at English filters.
        return text, 0
    folded = _WORD.sub(_fold_word, text)
    if folded == text:
        return text, 0
    return folded, sum(a != b for a, b in zip(folded, text, strict=True))


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster for Chinese and Japanese, whose only
    compatibility characters are mostly full-width punctuation: those are folded one by
    one first (str.replace), and the full normalisation runs only if anything else is left
    (4 KB of Chinese: 0.04 ms against 0.2 ms)."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = ascii_full_width(text)
    if unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


def normalise(text: str) -> Normalised:
    """Strip invisible characters, fold compatibility forms and lookalikes, decode payloads."""
    zero_width = bidi = tags = homoglyphs = 0
    tag_text: list[str] = []
    # Hyperscan's "\s" is ASCII's: "ignore<U+2028>all previous instructions" must read as
    # words to the rules' prefilter as it does to Python (see tutela.asciify).
    text = ascii_spaces(text)
    if not text.isascii() and _HIDDEN.search(text) is None:
        text = _VARIATION.sub("", text)
        text = _nfkc(text)
        text, homoglyphs = _fold(text)
    elif not text.isascii():
        kept: list[str] = []
        in_flag = False  # subdivision flags (England, Scotland) are spelled in tag characters
        previous = ""
        for char in text:
            code = ord(char)
            if _TAG_FIRST <= code <= _TAG_LAST:
                if not in_flag:
                    tags += 1
                    if 0xE0020 <= code <= 0xE007E:
                        tag_text.append(chr(code - 0xE0000))
                continue
            in_flag = char == _FLAG
            if char in _ZERO_WIDTH:
                if previous.isascii() and previous.isalnum():
                    zero_width += 1  # inside or after a Latin word: hiding, not emoji or script
            elif char in _BIDI:
                bidi += 1
            elif char in _DIRECTION_MARKS:
                pass
            else:
                kept.append(char)
                previous = char
        text = _VARIATION.sub("", "".join(kept))
        text = _nfkc(text)
        text, homoglyphs = _fold(text)
    payloads = _decode_payloads(text)
    if tag_text:
        payloads.insert(0, "".join(tag_text))
    return Normalised(
        text=text,
        payloads=tuple(payloads),
        zero_width=zero_width,
        bidi=bidi,
        tags=tags,
        homoglyphs=homoglyphs,
        encoded=len(payloads) - (1 if tag_text else 0),
    )

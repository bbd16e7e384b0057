"""``tutela.asciify``: one character for one, and every character it knows replaced."""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from tutela import asciify

_KNOWN = "".join(sorted(asciify._MAP))
texts = st.text(
    alphabet=st.one_of(st.sampled_from(_KNOWN), st.characters(), st.sampled_from("ab1 \n")),
    max_size=60,
)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_each_character_is_replaced_by_its_ascii_alone(text: str) -> None:
    expected = "".join(asciify._MAP.get(c, c) for c in text)
    assert asciify.ascii_forms(text) == expected
    assert len(expected) == len(text)
    spaces = "".join(asciify._MAP[c] if c in asciify.ODD_SPACES else c for c in text)
    assert asciify.ascii_spaces(text) == spaces


def test_what_is_folded() -> None:
    assert asciify.ascii_forms("\uff14\uff11\u00a0\u0661\u06f2\u0e53\u3000x") == "41 123 x"
    assert asciify.ascii_spaces("a\x1cb\u2028c\u00a0d") == "a b\nc d"
    assert asciify.ascii_forms("plain ascii") == "plain ascii"
    assert "\u00b2" not in asciify._MAP  # a superscript two is not a decimal digit


def test_the_first_two_planes_hold_every_space_and_digit() -> None:
    """Reading only U+0000 to U+1FFFF at import misses nothing of this Python's Unicode."""
    every = [chr(c) for c in range(sys.maxunicode + 1)]
    spaces = "".join(c for c in every if c.isspace() and c not in " \t\n\r\x0b\x0c")
    assert spaces == asciify.ODD_SPACES
    assert "".join(c for c in every[128:] if c.isdecimal()) == asciify._DIGITS

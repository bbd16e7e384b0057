"""Consistent, reversible placeholders for one conversation, and their restoration.

``Vault.placeholder(cls, value)`` gives ``[EMAIL_1]``, ``[PERSON_2]``...: the same value
always gets the same placeholder within one vault. ``Vault.restore(text)`` puts the
values back; placeholders a vault did not issue are left alone, so one conversation's
placeholders can never be filled from another's vault. ``StreamRestorer`` does the same
over a stream of text deltas, holding back at most ``MAX_PLACEHOLDER`` characters when a
delta ends in what may be the start of a placeholder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]{0,39})_([1-9][0-9]{0,5})\]")
MAX_PLACEHOLDER = 49  # "[" + 40 label chars + "_" + 6 digits + "]"
_PARTIAL = re.compile(r"\[(?:[A-Z][A-Z0-9_]{0,46})?\Z")

_LABELS = {
    "pii.email": "EMAIL",
    "pii.phone": "PHONE",
    "pii.person": "PERSON",
    "pii.location": "ADDRESS",
    "pii.date_of_birth": "DOB",
    "fin.credit_card": "CARD",
}


def label_for(cls: str) -> str:
    """``pii.email`` -> ``EMAIL``; ``secret.aws_access_key`` -> ``AWS_ACCESS_KEY``."""
    if cls in _LABELS:
        return _LABELS[cls]
    tail = cls.rsplit(".", 1)[-1]
    label = re.sub(r"[^A-Z0-9]+", "_", tail.upper()).strip("_") or "VALUE"
    return label if label[0].isalpha() else "V" + label[:39]


class Vault:
    """Placeholders and their values for one conversation. Never share or persist it."""

    __slots__ = ("_by_placeholder", "_by_value", "_counters")

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._by_placeholder)

    def __repr__(self) -> str:  # never the values
        return f"Vault(placeholders={len(self)})"

    def placeholder(self, cls: str, value: str) -> str:
        label = label_for(cls)
        key = (label, value)
        found = self._by_value.get(key)
        if found is not None:
            return found
        number = self._counters.get(label, 0) + 1
        self._counters[label] = number
        token = f"[{label}_{number}]"
        self._by_value[key] = token
        self._by_placeholder[token] = value
        return token

    def value(self, placeholder: str) -> str | None:
        return self._by_placeholder.get(placeholder)

    def restore(self, text: str, escape: Callable[[str], str] | None = None) -> str:
        """``text`` with every placeholder this vault issued replaced by its value."""
        if "[" not in text or not self._by_placeholder:
            return text

        def put_back(match: re.Match[str]) -> str:
            value = self._by_placeholder.get(match.group(0))
            if value is None:
                return match.group(0)
            return escape(value) if escape else value

        return PLACEHOLDER.sub(put_back, text)


def json_string_escape(value: str) -> str:
    """``value`` escaped for the inside of a JSON string (for ``input_json_delta``)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class StreamRestorer:
    """Restores placeholders across arbitrarily split text deltas.

    ``feed(delta)`` returns the restored text that is safe to send now; ``flush()`` returns
    whatever was held back at the end of the stream. At most ``MAX_PLACEHOLDER``
    characters are ever held. With ``json_strings=True`` the values are JSON-escaped, for
    deltas that are fragments of a JSON document (tool-use ``partial_json``).
    """

    __slots__ = ("_escape", "_held", "_vault")

    def __init__(self, vault: Vault, *, json_strings: bool = False) -> None:
        self._vault = vault
        self._held = ""
        self._escape = json_string_escape if json_strings else None

    def feed(self, delta: str) -> str:
        buffer = self._held + delta
        cut = len(buffer)
        start = buffer.rfind("[", max(0, len(buffer) - MAX_PLACEHOLDER))
        if start >= 0 and _PARTIAL.match(buffer, start):
            cut = start
        self._held = buffer[cut:]
        return self._vault.restore(buffer[:cut], self._escape)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._vault.restore(held, self._escape)

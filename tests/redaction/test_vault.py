"""Pseudonymisation round trips, split placeholders, and isolation between conversations."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.detectors import Scanner
from tutela.redaction import StreamRestorer, Vault, apply_policy
from tutela.redaction.vault import MAX_PLACEHOLDER, label_for

SCANNER = Scanner()
PROMPT = (
    "Hi, I'm Maria Gonzalez (maria.gonzalez@example.com, +44 20 7946 0958). "
    "Please email maria.gonzalez@example.com and bob@example.org about card 4111 1111 1111 1111."
)


def _pseudonymise(text: str, vault: Vault) -> str:
    return apply_policy(text, SCANNER.scan(text), {"*": "pseudonymise"}, vault).text


def test_placeholders_are_consistent_and_restore() -> None:
    vault = Vault()
    out = _pseudonymise(PROMPT, vault)
    assert out.count("[EMAIL_1]") == 2 and "[EMAIL_2]" in out and "[PERSON_1]" in out
    assert "example.com" not in out and "4111" not in out
    assert vault.restore(out) == PROMPT


def test_labels() -> None:
    assert label_for("pii.email") == "EMAIL"
    assert label_for("secret.aws_access_key") == "AWS_ACCESS_KEY"
    assert label_for("custom.3d") == "V3D"


def test_split_at_every_pair_of_boundaries() -> None:
    """A model reply cut into three deltas at every possible pair of positions."""
    vault = Vault()
    reply = "Sure [PERSON_1], I wrote to [EMAIL_1] and [EMAIL_2]; [NOT_A_1] stays [x"
    _pseudonymise(PROMPT, vault)
    expected = vault.restore(reply)
    assert "maria.gonzalez@example.com" in expected and "[NOT_A_1]" in expected
    n = len(reply)
    for i in range(n + 1):
        for j in range(i, n + 1):
            restorer = StreamRestorer(vault)
            out = restorer.feed(reply[:i]) + restorer.feed(reply[i:j]) + restorer.feed(reply[j:])
            assert out + restorer.flush() == expected, (i, j)


def test_one_character_deltas_and_bounded_holdback() -> None:
    vault = Vault()
    _pseudonymise(PROMPT, vault)
    reply = "[EMAIL_1]" * 3 + "[" + "A" * 100
    restorer = StreamRestorer(vault)
    out = []
    for ch in reply:
        out.append(restorer.feed(ch))
        assert len(restorer._held) <= MAX_PLACEHOLDER
    assert "".join(out) + restorer.flush() == vault.restore(reply)


def test_other_conversation_placeholders_are_never_restored() -> None:
    alice, bob = Vault(), Vault()
    _pseudonymise("mail alice@example.com", alice)
    _pseudonymise("mail bob@example.org please", bob)
    reply = "I contacted [EMAIL_1]."
    assert alice.restore(reply) == "I contacted alice@example.com."
    assert bob.restore(reply) == "I contacted bob@example.org."
    stranger = Vault()
    assert stranger.restore(reply) == reply
    restorer = StreamRestorer(stranger)
    assert restorer.feed("I contacted [EMAIL") + restorer.feed("_1].") + restorer.flush() == reply


def test_json_string_restoration_for_tool_input() -> None:
    vault = Vault()
    token = vault.placeholder("pii.person", 'Ann "The" O\\Neil')
    partial = json.dumps({"to": token})
    restorer = StreamRestorer(vault, json_strings=True)
    out = "".join(restorer.feed(partial[k : k + 3]) for k in range(0, len(partial), 3))
    assert json.loads(out + restorer.flush()) == {"to": 'Ann "The" O\\Neil'}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=12), st.text(max_size=40))
def test_random_chunking_round_trips(cuts: list[int], noise: str) -> None:
    vault = Vault()
    _pseudonymise(PROMPT, vault)
    reply = noise + "[EMAIL_2][PERSON_1]" + noise + "[EMAIL_1"
    positions = sorted({min(c, len(reply)) for c in cuts})
    pieces = [reply[a:b] for a, b in zip([0, *positions], [*positions, len(reply)], strict=True)]
    restorer = StreamRestorer(vault)
    out = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert out == vault.restore(reply)

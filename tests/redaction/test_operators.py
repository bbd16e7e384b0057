"""Policy resolution and the allow / mask / redact / pseudonymise / block operators."""

from __future__ import annotations

import pytest

from tutela.detectors import Scanner, Span
from tutela.redaction import Vault, apply_policy, mask, resolve_action

SCANNER = Scanner()
POLICY = {"pii.email": "pseudonymise", "secret.*": "block", "fin.*": "mask", "*": "allow"}


@pytest.mark.parametrize(
    ("cls", "policy", "action"),
    [
        ("pii.email", POLICY, "pseudonymise"),
        ("secret.aws_access_key", POLICY, "block"),
        ("fin.credit_card", POLICY, "mask"),
        ("net.url", POLICY, "allow"),
        ("secret.aws_access_key", {"secret.*": "block", "secret.aws_*": "redact"}, "redact"),
        ("pii.phone", {"pii.*": "redact", "*": "block"}, "redact"),
        ("pii.phone", {}, "allow"),
        ("pii.phone", {"pii.phone": "pseudonymize"}, "pseudonymise"),
    ],
)
def test_resolve_action_most_specific_wins(cls: str, policy: dict[str, str], action: str) -> None:
    assert resolve_action(cls, policy) == action


def test_unknown_action_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        resolve_action("pii.email", {"*": "shred"})


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("4111 1111 1111 1111", "**** **** **** 1111"),
        ("GB82WEST12345698765432", "******************5432"),
        ("abc", "***"),
        ("a@b.co", "*@*.**"),
        ("jane@example.com", "****@******e.com"),
    ],
)
def test_mask_keeps_last_four(value: str, masked: str) -> None:
    assert mask(value) == masked


def _span(text: str, value: str, cls: str) -> Span:
    start = text.index(value)
    return Span(cls=cls, start=start, end=start + len(value), score=0.99)


def test_apply_policy_transforms_and_counts_without_values() -> None:
    text = "a@b.co paid with 4111 1111 1111 1111, cc a@b.co and c@d.org"
    spans = SCANNER.scan(text)
    vault = Vault()
    result = apply_policy(text, spans, POLICY, vault)
    assert result.text == "[EMAIL_1] paid with **** **** **** 1111, cc [EMAIL_1] and [EMAIL_2]"
    assert result.counts == {"pii.email": 3, "fin.credit_card": 1}
    assert result.actions == {"pii.email": "pseudonymise", "fin.credit_card": "mask"}
    assert not result.blocked and result.changed
    assert "a@b.co" not in repr(result) and "a@b.co" not in repr(vault)


def test_redact_names_the_class() -> None:
    text = "mail a@b.co"
    result = apply_policy(text, [_span(text, "a@b.co", "pii.email")], {"*": "redact"})
    assert result.text == "mail [REDACTED:pii.email]"


def test_block_leaves_text_and_names_classes() -> None:
    text = "key AKIAQ3EGR7MBX2LT5NPW and a@b.co"
    result = apply_policy(text, SCANNER.scan(text), POLICY, Vault())
    assert result.blocked
    assert result.blocked_classes == ("secret.aws_access_key",)
    assert result.text == text


def test_allow_everything_returns_same_text() -> None:
    text = "mail a@b.co"
    result = apply_policy(text, [_span(text, "a@b.co", "pii.email")], {"*": "allow"})
    assert result.text is text and not result.changed


def test_pseudonymise_without_vault_is_an_error() -> None:
    text = "mail a@b.co"
    with pytest.raises(ValueError, match="Vault"):
        apply_policy(text, [_span(text, "a@b.co", "pii.email")], {"*": "pseudonymise"})

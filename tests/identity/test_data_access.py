"""The per-role data-class decision point."""

from __future__ import annotations

from tutela.identity.data_access import may_send, refused_classes
from tutela.policy import parse_policy

POLICY = parse_policy("""
identity:
  role_data_classes:
    analyst: ["pii.*", "fin.credit_card"]
    security: ["*"]
""")


def test_listed_roles_send_only_what_their_patterns_match() -> None:
    assert may_send(POLICY, "analyst", "pii.email")
    assert may_send(POLICY, "analyst", "fin.credit_card")
    assert not may_send(POLICY, "analyst", "secret.aws_access_key")
    assert may_send(POLICY, "security", "secret.aws_access_key")


def test_unlisted_roles_are_not_restricted_here() -> None:
    assert may_send(POLICY, "admin", "secret.aws_access_key")


def test_refused_classes_are_sorted_and_unique() -> None:
    found = ["secret.password", "pii.email", "secret.password", "fin.iban"]
    assert refused_classes(POLICY, "analyst", found) == ["fin.iban", "secret.password"]

"""Redaction: what to do with findings — allow, mask, redact, pseudonymise or block.

This package owns the operators, the per-conversation pseudonym ``Vault`` and the
streaming restorer. It acts on spans from ``tutela.detectors`` and reports per-class
counts and actions, never values. A ``Vault`` belongs to one exchange and must never be
shared between conversations or persisted in plaintext.
"""

from tutela.redaction.operators import (
    ACTIONS,
    RedactionResult,
    apply_policy,
    mask,
    resolve_action,
)
from tutela.redaction.vault import PLACEHOLDER, StreamRestorer, Vault

__all__ = [
    "ACTIONS",
    "PLACEHOLDER",
    "RedactionResult",
    "StreamRestorer",
    "Vault",
    "apply_policy",
    "mask",
    "resolve_action",
]

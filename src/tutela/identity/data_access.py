"""Which data classes a role may send: the decision point the data-protection guard asks.

Policy ``identity.role_data_classes`` maps a role to the class patterns it may send
(``fnmatch`` wildcards: ``secret.*``, ``pii.email``). A role not listed may send any class
(the DLP actions still apply); a listed role may send only what its patterns match, so
"only the security team may send security-sensitive data" reads
``{analyst: ["pii.*", "fin.*"], security: ["*"]}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from tutela.policy import Policy


def may_send(policy: Policy, role: str, data_class: str) -> bool:
    patterns = policy.identity.role_data_classes.get(role)
    if patterns is None:
        return True
    return any(fnmatchcase(data_class, pattern) for pattern in patterns)


def refused_classes(policy: Policy, role: str, data_classes: Iterable[str]) -> list[str]:
    """The classes among ``data_classes`` that ``role`` may not send, sorted, unique."""
    return sorted({c for c in data_classes if not may_send(policy, role, c)})

"""Break-glass credentials: the TOTP seed is kept only sealed under the password."""

from __future__ import annotations

import urllib.parse

import pyotp
import pytest

from tutela.identity import break_glass
from tutela.store.database import Store
from tutela.store.identity import IdentityStore


def test_the_seed_is_sealed_and_both_factors_are_needed(store: Store) -> None:
    identity = IdentityStore(store)
    creds = break_glass.enable(identity, "root@example.com")
    seed = urllib.parse.parse_qs(urllib.parse.urlparse(creds.totp_uri).query)["secret"][0]
    user = identity.get_user_by_email("root@example.com")
    assert user is not None and user.totp_secret is not None
    assert seed not in user.totp_secret and user.totp_secret.startswith("v1:")
    code = pyotp.TOTP(seed).now()  # once: a second .now() may fall in the next 30 s step
    break_glass.verify(identity, "root@example.com", creds.password, code)
    with pytest.raises(break_glass.BreakGlassRefused):  # each code works once
        break_glass.verify(identity, "root@example.com", creds.password, code)
    with pytest.raises(break_glass.BreakGlassRefused):
        break_glass.verify(identity, "root@example.com", "wrong" + creds.password, "000000")

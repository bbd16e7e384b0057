"""Finishing a sign-in: JIT users, group mapping that leaves manual memberships alone."""

from __future__ import annotations

import pytest

from tutela.identity.roles import Roles
from tutela.identity.sessions import resolve_session
from tutela.identity.sign_in import Assertion, SignInRefused, complete_sign_in
from tutela.policy import parse_policy
from tutela.store.database import Store
from tutela.store.identity import IdentityStore

POLICY = parse_policy("""
sso:
  role_mapping:
    a: {groups: {eng: analyst, leads: admin}}
    b: {groups: {eng: viewer}}
""")


def sign_in(store: Store, *groups: str, email: str = "ada@example.com"):  # type: ignore[no-untyped-def]
    assertion = Assertion(provider="oidc:corp", subject="s", email=email, groups=groups,
                          mfa=True)
    return complete_sign_in(store, POLICY, Roles(), assertion, client_ip="10.1.2.3")


def test_groups_map_to_roles_and_follow_the_idp(sqlite_store: Store) -> None:
    a, b = sqlite_store.create_workspace("a"), sqlite_store.create_workspace("b")
    first = sign_in(sqlite_store, "eng", "leads")
    assert first.workspaces == {"a": "admin", "b": "viewer"}
    assert resolve_session(IdentityStore(sqlite_store), first.token) is not None
    # the IdP drops "leads" and "eng"; a manual membership in b survives, a's SSO one goes
    identity = IdentityStore(sqlite_store)
    identity.set_membership(first.user.id, b.id, "analyst", "manual")
    second = sign_in(sqlite_store, "marketing")
    assert second.workspaces == {"b": "analyst"}
    types = [r["event_type"] for r in sqlite_store.audit_events()]
    assert "member.removed" in types and "user.created" in types
    assert a.id not in identity.memberships_of(first.user.id)


def test_no_role_anywhere_and_disabled_users_are_refused(sqlite_store: Store) -> None:
    sqlite_store.create_workspace("a")
    with pytest.raises(SignInRefused, match="no role"):
        sign_in(sqlite_store, "nobody")
    user = sign_in(sqlite_store, "eng").user
    IdentityStore(sqlite_store).set_disabled(user.id, True)
    with pytest.raises(SignInRefused, match="disabled"):
        sign_in(sqlite_store, "eng")


@pytest.mark.parametrize("token", ["", "tutela_ss_short", "tutela_sk_" + "a" * 60, "x" * 53])
def test_malformed_session_tokens_resolve_to_nobody(sqlite_store: Store, token: str) -> None:
    assert resolve_session(IdentityStore(sqlite_store), token) is None


def test_owner_groups_appoint_and_remove_owners_with_audit(sqlite_store: Store) -> None:
    from tutela.testing.audit import identity_view

    policy = parse_policy("sso:\n  owner_groups: [tutela-owners]\n")
    sqlite_store.create_workspace("a")
    assertion = Assertion(provider="oidc:corp", subject="s", email="olga@example.com",
                          groups=("tutela-owners",), mfa=True)
    signed = complete_sign_in(sqlite_store, policy, Roles(), assertion, client_ip="10.0.0.1")
    assert signed.user.org_role == "owner"
    [change] = [identity_view(r) for r in sqlite_store.audit_events("user.changed")]
    assert change["before"] == {"org_role": None} and change["after"] == {"org_role": "owner"}

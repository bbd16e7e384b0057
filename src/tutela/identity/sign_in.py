"""Finishing a sign-in, whatever proved it: MFA check, just-in-time user, group -> role
mapping per workspace, a new session, and audit events for each change.

OIDC and SAML hand over a verified ``Assertion`` (who, which groups, how they
authenticated); this module alone decides what that person may do in tutela.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tutela.audit.events import AuditEvent
from tutela.identity.events import change_event as access_change_event
from tutela.identity.events import sign_in_event
from tutela.identity.roles import OWNER, Roles
from tutela.identity.sessions import start_session
from tutela.policy import Policy
from tutela.store.database import Store
from tutela.store.identity import IdentityStore, SessionRecord, UserRecord


class SignInRefused(Exception):
    """A sign-in that must not go ahead; ``reason`` is safe to show and to audit."""

    def __init__(self, reason: str, *, actor: str = "unknown", status: int = 403) -> None:
        super().__init__(reason)
        self.reason = reason
        self.actor = actor
        self.status = status


@dataclass(frozen=True, slots=True, kw_only=True)
class Assertion:
    """What an identity provider vouched for, after every signature and claim check."""

    provider: str  # "oidc:<name>", "saml:<name>", "break_glass"
    subject: str
    email: str
    name: str = ""
    groups: tuple[str, ...] = ()
    amr: tuple[str, ...] = ()  # authentication methods (OIDC amr, SAML AuthnContextClassRef)
    mfa: bool = False


@dataclass(slots=True, kw_only=True)
class SignedIn:
    user: UserRecord
    token: str
    session: SessionRecord | None
    workspaces: dict[str, str] = field(default_factory=dict)  # workspace name -> role
    events: list[AuditEvent] = field(default_factory=list)


def mapped_roles(policy: Policy, roles: Roles, groups: tuple[str, ...]) -> dict[str, str]:
    """Workspace name -> the strongest role the person's groups map to there."""
    out = {}
    for workspace, mapping in policy.sso.role_mapping.items():
        role = roles.strongest([mapping.groups[g] for g in groups if g in mapping.groups])
        if role is not None:
            out[workspace] = role
    return out


def complete_sign_in(
    store: Store,
    policy: Policy,
    roles: Roles,
    assertion: Assertion,
    *,
    client_ip: str,
    open_session: bool = True,
) -> SignedIn:
    """Create or update the user, apply the role mapping, open a session. Synchronous (runs
    in a worker thread). Raises ``SignInRefused`` when the person may not sign in."""
    identity = IdentityStore(store)
    email = assertion.email.strip().lower()
    if not email or "@" not in email:
        raise SignInRefused("the identity provider sent no usable email address")
    events: list[AuditEvent] = []
    user, created = identity.upsert_user(
        email=email,
        name=assertion.name,
        idp=assertion.provider,
        subject=assertion.subject,
        login=True,
    )
    if user.disabled_at is not None:
        raise SignInRefused("this account is disabled", actor=email)
    if created:
        events.append(
            access_change_event(
                "user.created",
                actor=email,
                workspace_id=None,
                source_ip=client_ip,
                provider=assertion.provider,
                target=user.id,
                after={"email": email, "just_in_time": True},
            )
        )
    if policy.sso.owner_groups and assertion.provider != "break_glass":
        owner = OWNER if set(assertion.groups) & set(policy.sso.owner_groups) else None
        if owner != user.org_role:
            identity.set_org_role(user.id, owner)
            events.append(
                access_change_event(
                    "user.changed",
                    actor=email,
                    workspace_id=None,
                    source_ip=client_ip,
                    provider=assertion.provider,
                    target=user.id,
                    before={"org_role": user.org_role},
                    after={"org_role": owner},
                )
            )
            user = identity.get_user(user.id) or user
    if assertion.provider != "break_glass":
        events += _apply_mapping(store, identity, policy, roles, user, assertion, client_ip)
    current = identity.memberships_of(user.id)
    by_id = {w.id: w.name for w in store.list_workspaces()}
    workspaces = {by_id[ws]: m.role for ws, m in current.items() if ws in by_id}
    if not workspaces and user.org_role != OWNER:
        raise SignInRefused(
            "signed in, but you have no role in any workspace: ask a tutela admin to add you "
            "or to map one of your groups",
            actor=email,
        )
    token, session = "", None
    if open_session:
        token, session = start_session(
            identity,
            user,
            provider=assertion.provider,
            amr=" ".join(assertion.amr),
            client_ip=client_ip,
            settings=policy.identity.sessions,
        )
    events.append(
        sign_in_event(
            "sign_in",
            "success",
            actor=email,
            source_ip=client_ip,
            provider=assertion.provider,
            session_id=session.id if session else "",
            mfa=assertion.mfa,
        )
    )
    store.append_audit(events)
    return SignedIn(user=user, token=token, session=session, workspaces=workspaces, events=events)


def _apply_mapping(
    store: Store,
    identity: IdentityStore,
    policy: Policy,
    roles: Roles,
    user: UserRecord,
    assertion: Assertion,
    client_ip: str,
) -> list[AuditEvent]:
    """Bring SSO-sourced memberships in line with the groups; manual ones stay as they are."""
    events = []
    wanted = mapped_roles(policy, roles, assertion.groups)
    current = identity.memberships_of(user.id)
    for name in set(wanted) | set(policy.sso.role_mapping):
        space = store.get_workspace(name)
        if space is None:
            continue
        have = current.get(space.id)
        role = wanted.get(name)
        common: dict[str, Any] = {
            "actor": user.email,
            "workspace_id": space.id,
            "source_ip": client_ip,
            "provider": assertion.provider,
            "target": user.id,
        }
        if role is not None and (have is None or (have.source == "sso" and have.role != role)):
            identity.set_membership(user.id, space.id, role, "sso")
            events.append(
                access_change_event(
                    "member.added" if have is None else "member.changed",
                    before={"role": have.role} if have else None,
                    after={"role": role, "source": "sso"},
                    **common,
                )
            )
        elif role is None and have is not None and have.source == "sso":
            identity.remove_membership(user.id, space.id)
            events.append(
                access_change_event(
                    "member.removed", before={"role": have.role, "source": "sso"}, **common
                )
            )
    return events


def mfa_satisfied(
    methods: tuple[str, ...],
    acr: str,
    accepted_methods: tuple[str, ...],
    accepted_acr: tuple[str, ...],
) -> bool:
    """True when any authentication method, or the ACR, is one policy accepts as MFA."""
    if set(methods) & set(accepted_methods):
        return True
    return bool(acr) and acr in accepted_acr

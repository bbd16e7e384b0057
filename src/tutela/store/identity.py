"""The identity repository: people, workspace memberships, sign-in sessions, one-time state.

Session tokens are stored only as SHA-256 digests. Pending sign-ins (OIDC state, SAML
request ids) and accepted SAML assertion ids live in ``auth_nonces`` so that any replica
can finish a sign-in another began, and a replayed assertion is refused everywhere.
Synchronous, like ``Store``: call it from worker threads.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tutela.store import schema
from tutela.store.database import Store, utcnow


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    id: str
    email: str
    name: str
    org_role: str | None
    idp: str
    subject: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    disabled_at: dt.datetime | None
    password_hash: str | None = None
    totp_secret: str | None = None

    def __repr__(self) -> str:
        return f"UserRecord(id={self.id!r}, email={self.email!r})"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "org_role": self.org_role,
            "idp": self.idp,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
            "disabled": self.disabled_at is not None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipRecord:
    user_id: str
    workspace_id: str
    role: str
    source: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    id: str
    token_sha256: str
    user_id: str
    idp: str
    amr: str
    client_ip: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    kind: str = "admin"
    workspace_id: str | None = None
    groups: str = ""

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class IdentityStore:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- users ----------------------------------------------------------------------------

    def get_user(self, user_id: str) -> UserRecord | None:
        table = schema.users
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.id == user_id)).first()
        return UserRecord(**row._mapping) if row else None

    def get_user_by_email(self, email: str) -> UserRecord | None:
        table = schema.users
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(table).where(table.c.email == email.lower())).first()
        return UserRecord(**row._mapping) if row else None

    def upsert_user(
        self, *, email: str, name: str = "", idp: str = "", subject: str = "", login: bool = False
    ) -> tuple[UserRecord, bool]:
        """The user with ``email`` (created just in time when new); True when created."""
        table = schema.users
        now = utcnow()
        email = email.lower()
        created = False
        values: dict[str, Any] = {}
        if login:
            values["last_login_at"] = now
        if idp:
            values.update(idp=idp, subject=subject)
        if name:
            values["name"] = name[:200]
        existing = self.get_user_by_email(email)
        if existing is None:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        table.insert().values(
                            id="usr_" + os.urandom(8).hex(),
                            email=email,
                            name=name[:200],
                            org_role=None,
                            idp=idp,
                            subject=subject,
                            created_at=now,
                            last_login_at=now if login else None,
                        )
                    )
                created = True
            except IntegrityError:  # created concurrently by another replica: update it
                pass
        if not created and values:
            with self.engine.begin() as connection:
                connection.execute(table.update().where(table.c.email == email).values(**values))
        user = self.get_user_by_email(email)
        assert user is not None
        return user, created

    def set_org_role(self, user_id: str, org_role: str | None) -> None:
        table = schema.users
        with self.engine.begin() as connection:
            connection.execute(
                table.update().where(table.c.id == user_id).values(org_role=org_role)
            )

    def set_local_credentials(
        self, user_id: str, password_hash: str | None, totp_secret: str | None
    ) -> None:
        table = schema.users
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.id == user_id)
                .values(password_hash=password_hash, totp_secret=totp_secret)
            )

    def set_disabled(self, user_id: str, disabled: bool) -> None:
        table = schema.users
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.id == user_id)
                .values(disabled_at=utcnow() if disabled else None)
            )

    def list_users(self) -> list[UserRecord]:
        table = schema.users
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).order_by(table.c.email)).all()
        return [UserRecord(**row._mapping) for row in rows]

    # -- memberships ----------------------------------------------------------------------

    def memberships_of(self, user_id: str) -> dict[str, MembershipRecord]:
        """workspace id -> membership."""
        table = schema.memberships
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).where(table.c.user_id == user_id)).all()
        return {row.workspace_id: MembershipRecord(**row._mapping) for row in rows}

    def members(self, workspace_id: str) -> list[tuple[UserRecord, MembershipRecord]]:
        users, table = schema.users, schema.memberships
        query = (
            sa.select(users, table.c.role, table.c.source, table.c.created_at.label("joined"))
            .join(table, table.c.user_id == users.c.id)
            .where(table.c.workspace_id == workspace_id)
            .order_by(users.c.email)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in rows:
            data = dict(row._mapping)
            role, source, joined = data.pop("role"), data.pop("source"), data.pop("joined")
            user = UserRecord(**data)
            out.append(
                (
                    user,
                    MembershipRecord(
                        user_id=user.id,
                        workspace_id=workspace_id,
                        role=role,
                        source=source,
                        created_at=joined,
                    ),
                )
            )
        return out

    def set_membership(
        self, user_id: str, workspace_id: str, role: str, source: str
    ) -> MembershipRecord | None:
        """Set a role; returns the previous membership (None when new)."""
        table = schema.memberships
        previous = self.memberships_of(user_id).get(workspace_id)
        with self.engine.begin() as connection:
            if previous is None:
                connection.execute(
                    table.insert().values(
                        user_id=user_id,
                        workspace_id=workspace_id,
                        role=role,
                        source=source,
                        created_at=utcnow(),
                    )
                )
            else:
                connection.execute(
                    table.update()
                    .where(table.c.user_id == user_id, table.c.workspace_id == workspace_id)
                    .values(role=role, source=source)
                )
        return previous

    def remove_membership(self, user_id: str, workspace_id: str) -> bool:
        table = schema.memberships
        with self.engine.begin() as connection:
            result = connection.execute(
                table.delete().where(
                    table.c.user_id == user_id, table.c.workspace_id == workspace_id
                )
            )
        return bool(result.rowcount)

    # -- sessions -------------------------------------------------------------------------

    def create_session(
        self,
        *,
        token_sha256: str,
        user_id: str,
        idp: str,
        amr: str,
        client_ip: str,
        expires_at: dt.datetime,
        kind: str = "admin",
        workspace_id: str | None = None,
        groups: str = "",
    ) -> SessionRecord:
        record = SessionRecord(
            kind=kind,
            workspace_id=workspace_id,
            groups=groups,
            id="ses_" + os.urandom(8).hex(),
            token_sha256=token_sha256,
            user_id=user_id,
            idp=idp,
            amr=amr[:200],
            client_ip=client_ip[:64],
            created_at=utcnow(),
            expires_at=expires_at,
            revoked_at=None,
        )
        with self.engine.begin() as connection:
            connection.execute(
                schema.sessions.insert().values(
                    id=record.id,
                    token_sha256=record.token_sha256,
                    user_id=record.user_id,
                    idp=record.idp,
                    amr=record.amr,
                    client_ip=record.client_ip,
                    created_at=record.created_at,
                    expires_at=record.expires_at,
                    kind=kind,
                    workspace_id=workspace_id,
                    groups=groups,
                )
            )
        return record

    def find_session(self, token_sha256: str) -> SessionRecord | None:
        table = schema.sessions
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table).where(table.c.token_sha256 == token_sha256)
            ).first()
        return SessionRecord(**row._mapping) if row else None

    def revoke_session(self, session_id: str) -> None:
        table = schema.sessions
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.id == session_id, table.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )

    def revoke_user_sessions(self, user_id: str) -> None:
        table = schema.sessions
        with self.engine.begin() as connection:
            connection.execute(
                table.update()
                .where(table.c.user_id == user_id, table.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )

    # -- one-time state ---------------------------------------------------------------------

    def put_nonce(self, nonce_id: str, kind: str, data: str, expires_at: dt.datetime) -> bool:
        """Remember ``nonce_id``; False when it is already known (a replay)."""
        table = schema.auth_nonces
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    table.delete()
                    .where(table.c.expires_at <= utcnow())
                    .where(table.c.id == nonce_id)
                )
                connection.execute(
                    table.insert().values(id=nonce_id, kind=kind, data=data, expires_at=expires_at)
                )
        except IntegrityError:
            return False
        return True

    def take_nonce(self, nonce_id: str, kind: str) -> str | None:
        """The data of a pending, unexpired ``nonce_id``, removed so it works only once."""
        table = schema.auth_nonces
        where = (table.c.id == nonce_id, table.c.kind == kind)
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(table.c.data, table.c.expires_at).where(*where)
            ).first()
            if row is None:
                return None
            deleted = connection.execute(table.delete().where(*where))
        if deleted.rowcount != 1 or row.expires_at <= utcnow():
            return None
        data: str = row.data
        return data

    def update_nonce(self, nonce_id: str, kind: str, data: str, expected: str) -> bool:
        """Replace a pending nonce's data, only if it still holds ``expected`` (no lost
        update when two replicas race); False otherwise."""
        table = schema.auth_nonces
        with self.engine.begin() as connection:
            result = connection.execute(
                table.update()
                .where(table.c.id == nonce_id, table.c.kind == kind, table.c.data == expected)
                .where(table.c.expires_at > utcnow())
                .values(data=data)
            )
        return bool(result.rowcount == 1)

    def peek_nonce(self, nonce_id: str, kind: str) -> str | None:
        """The data of a pending, unexpired ``nonce_id``, left in place."""
        table = schema.auth_nonces
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(table.c.data, table.c.expires_at).where(
                    table.c.id == nonce_id, table.c.kind == kind
                )
            ).first()
        if row is None or row.expires_at <= utcnow():
            return None
        data: str = row.data
        return data

    def purge_nonces(self) -> int:
        table = schema.auth_nonces
        with self.engine.begin() as connection:
            result = connection.execute(table.delete().where(table.c.expires_at <= utcnow()))
        return int(result.rowcount)

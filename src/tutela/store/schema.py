"""The database schema, as SQLAlchemy Core tables. Alembic migrations create and evolve it.

Secrets are never stored: API keys keep only a SHA-256 digest of their secret part.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; tutela stores only timezone-aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stamp: dt.datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=dt.UTC)
        return stamp.astimezone(dt.UTC)


metadata = MetaData()

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), nullable=False),
    Column("role", String(40), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    # rotation: the successor's id, and when the rotation happened (0002)
    Column("replaced_by", String(40), nullable=True),
    Column("rotated_at", UTCDateTime(), nullable=True),
    Column("created_by", String(200), nullable=False, default=""),
    Index("ix_api_keys_workspace", "workspace_id"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("request_id", String(64), nullable=False, unique=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("workspace_id", String(40), nullable=True),
    Column("key_id", String(40), nullable=True),
    Column("endpoint", String(40), nullable=False),
    Column("model", String(200), nullable=False, default=""),
    Column("status", Integer, nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("input_tokens", Integer, nullable=False, default=0),
    Column("output_tokens", Integer, nullable=False, default=0),
    Column("cache_creation_input_tokens", Integer, nullable=False, default=0),
    Column("cache_read_input_tokens", Integer, nullable=False, default=0),
    Column("duration_ms", Integer, nullable=False, default=0),
    Index("ix_usage_ws_ts", "workspace_id", "ts"),
    Index("ix_usage_key_ts", "key_id", "ts"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("uid", String(64), nullable=False, unique=True),
    Column("ts", UTCDateTime(), nullable=False),
    Column("event_type", String(60), nullable=False),
    Column("workspace_id", String(40), nullable=True),
    Column("actor", String(200), nullable=False, default=""),
    Column("outcome", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_audit_ws_ts", "workspace_id", "ts"),
    Index("ix_audit_type_ts", "event_type", "ts"),
)


# -- identity (0002): people, their memberships, sessions and one-time auth state ----------

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("org_role", String(40), nullable=True),  # "owner" or None
    Column("idp", String(100), nullable=False, default=""),
    Column("subject", String(255), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_login_at", UTCDateTime(), nullable=True),
    Column("disabled_at", UTCDateTime(), nullable=True),
    # break-glass local admin only: argon2id hash and TOTP seed (None for SSO users)
    Column("password_hash", Text, nullable=True),
    Column("totp_secret", String(64), nullable=True),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id"), primary_key=True),
    Column("workspace_id", String(40), ForeignKey("workspaces.id"), primary_key=True),
    Column("role", String(40), nullable=False),
    Column("source", String(20), nullable=False),  # "sso" (mapped from claims) or "manual"
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_memberships_workspace", "workspace_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    # "admin" (admin-port sign-in) or "gateway" (a Claude Code token bound to a workspace)
    Column("kind", String(20), nullable=False, default="admin"),
    Column("workspace_id", String(40), nullable=True),
    Column("idp", String(100), nullable=False),
    Column("amr", String(200), nullable=False, default=""),
    Column("client_ip", String(64), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("groups", Text, nullable=False, default=""),  # IdP groups at sign-in, JSON list
)

auth_nonces = Table(
    "auth_nonces",
    metadata,
    # a digest of an OIDC state / SAML request id (pending sign-ins, used once), or a SAML
    # assertion id already accepted (the replay cache); kept until ``expires_at``
    Column("id", String(300), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("data", Text, nullable=False, default=""),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_auth_nonces_expires", "expires_at"),
)

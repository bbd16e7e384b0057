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
    Column("class_uid", Integer, nullable=True),
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
    Index("ix_audit_ws_ts", "workspace_id", "ts"),
    Index("ix_audit_type_ts", "event_type", "ts"),
    Index("ix_audit_actor_ts", "actor", "ts"),
)

# One row (id 1): the newest record's sequence and hash. Writers lock it to append, so
# processes sharing a database extend one chain. Verification never trusts it.
audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Signed checkpoints, kept apart from the events they vouch for.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("ts_ms", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(100), nullable=False),
    Index("ix_audit_checkpoints_seq", "seq"),
)

# Each exporter's position in the audit log: the log itself is every sink's outbox.
audit_sink_cursors = Table(
    "audit_sink_cursors",
    metadata,
    Column("sink", String(100), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("checkpoint_id", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Events a sink refused for good (after the configured attempts), kept for replay.
audit_dead_letters = Table(
    "audit_dead_letters",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("sink", String(100), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("uid", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", String(500), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Index("ix_dead_letters_sink", "sink", "seq"),
)

# Optional content logging: prompt and response text, AES-256-GCM under per-workspace
# data keys, which are themselves wrapped by the master key (envelope encryption).
content_keys = Table(
    "content_keys",
    metadata,
    Column("workspace_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("master_version", Integer, nullable=False),
    Column("wrapped", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

audit_content = Table(
    "audit_content",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("workspace_id", String(40), nullable=False),
    Column("ts", UTCDateTime(), nullable=False),
    Column("key_version", Integer, nullable=False),
    Column("nonce", String(32), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Index("ix_audit_content_ws_ts", "workspace_id", "ts"),
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
    Column("totp_secret", String(200), nullable=True),  # sealed: see identity/break_glass.py
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

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

"""Initial schema: workspaces, API keys, usage records, audit events.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from tutela.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_api_keys_workspace", "api_keys", ["workspace_id"])
    op.create_table(
        "usage_records",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=True),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("endpoint", sa.String(40), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("cache_creation_input_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_input_tokens", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_usage_ws_ts", "usage_records", ["workspace_id", "ts"])
    op.create_index("ix_usage_key_ts", "usage_records", ["key_id", "ts"])
    op.create_table(
        "audit_events",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(64), nullable=False, unique=True),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_ws_ts", "audit_events", ["workspace_id", "ts"])
    op.create_index("ix_audit_type_ts", "audit_events", ["event_type", "ts"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("usage_records")
    op.drop_table("api_keys")
    op.drop_table("workspaces")

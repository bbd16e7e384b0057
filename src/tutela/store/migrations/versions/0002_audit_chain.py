"""Audit chain: hash columns, chain head, signed checkpoints, exporter cursors, dead
letters and encrypted content logging.

Records written before this revision keep a NULL hash: verification counts them as
legacy and starts the chain after them.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from tutela.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("class_uid", sa.Integer, nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_index("ix_audit_actor_ts", "audit_events", ["actor", "ts"])
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    legacy = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM audit_events"))
    op.bulk_insert(head, [{"id": 1, "seq": int(legacy.scalar_one()), "hash": GENESIS}])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
    )
    op.create_index("ix_audit_checkpoints_seq", "audit_checkpoints", ["seq"])
    op.create_table(
        "audit_sink_cursors",
        sa.Column("sink", sa.String(100), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("checkpoint_id", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "audit_dead_letters",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_dead_letters_sink", "audit_dead_letters", ["sink", "seq"])
    op.create_table(
        "content_keys",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("master_version", sa.Integer, nullable=False),
        sa.Column("wrapped", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "audit_content",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("ts", UTCDateTime(), nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("ciphertext", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_content_ws_ts", "audit_content", ["workspace_id", "ts"])


def downgrade() -> None:
    for table in (
        "audit_content",
        "content_keys",
        "audit_dead_letters",
        "audit_sink_cursors",
        "audit_checkpoints",
        "audit_chain_head",
    ):
        op.drop_table(table)
    op.drop_index("ix_audit_actor_ts", "audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("class_uid")

"""tracking API: sources with hashed write keys, raw tracking messages, resolved user and anonymous ids

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:39:23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import amigo.core.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_source",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("write_key_hash", sa.String(length=64), nullable=False),
        sa.Column("write_key_hint", sa.String(length=12), nullable=False),
        sa.Column("created_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_source")),
        sa.UniqueConstraint("name", name=op.f("uq_tracking_source_name")),
        sa.UniqueConstraint("write_key_hash", name=op.f("uq_tracking_source_write_key_hash")),
    )
    op.create_table(
        "tracking_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("anonymous_id", sa.String(length=200), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reject_code", sa.String(length=40), nullable=True),
        sa.Column("reject_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["tracking_source.id"],
            name=op.f("fk_tracking_message_source_id_tracking_source"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_message")),
        sa.UniqueConstraint("key", name=op.f("uq_tracking_message_key")),
    )
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracking_message_source_anonymous", ["source_id", "anonymous_id"], unique=False
        )
        batch_op.create_index(
            "ix_tracking_message_source_user", ["source_id", "user_id"], unique=False
        )

    op.create_table(
        "tracking_identity",
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("updated_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["golden_customer.id"],
            name=op.f("fk_tracking_identity_customer_id_golden_customer"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["tracking_source.id"],
            name=op.f("fk_tracking_identity_source_id_tracking_source"),
        ),
        sa.PrimaryKeyConstraint("source_id", "kind", "value", name=op.f("pk_tracking_identity")),
    )
    with op.batch_alter_table("tracking_identity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tracking_identity_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracking_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracking_identity_customer_id"))

    op.drop_table("tracking_identity")
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_message_source_user")
        batch_op.drop_index("ix_tracking_message_source_anonymous")

    op.drop_table("tracking_message")
    op.drop_table("tracking_source")

"""shopify webhooks: the inbox of deliveries, received then processed

The receiver stores each delivery here in one short transaction (its body
sealed); the processor drains it into the ingest path.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 12:22:41
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import amigo.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shopify_webhook",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("webhook_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("api_version", sa.String(length=20), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=True),
        sa.Column("triggered_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        # Sealed (SealedJSON, binary form): the delivery names people.
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("body_bytes", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=100), nullable=True),
        sa.Column("customer_ref", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processed",
                "failed",
                "dead",
                name="deliverystatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        # Encrypted text form (EncryptedText).
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopify_webhook")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_shopify_webhook_webhook_id")),
    )
    with op.batch_alter_table("shopify_webhook", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shopify_webhook_customer_ref"), ["customer_ref"], unique=False
        )
        batch_op.create_index("ix_shopify_webhook_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("shopify_webhook", schema=None) as batch_op:
        batch_op.drop_index("ix_shopify_webhook_due")
        batch_op.drop_index(batch_op.f("ix_shopify_webhook_customer_ref"))
    op.drop_table("shopify_webhook")

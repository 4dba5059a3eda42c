"""refund payments: a payment the source names by its own id, written once

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 19:00:00

Shopify's ``refunds/create`` webhook writes each successful refund
transaction as a negative payment of its order, keyed by the transaction's
id: the same refund delivered twice, or an order's later version replacing
its own payments, leaves exactly one row per transaction
(connectors/shopify/topics.py, ingest/writers.py ``write_refunds``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("payment", sa.Column("source_payment_id", sa.String(length=80), nullable=True))
    op.create_index(
        "ix_payment_source_payment",
        "payment",
        ["order_id", "source_payment_id"],
        unique=True,
        postgresql_where=sa.text("source_payment_id IS NOT NULL"),
        sqlite_where=sa.text("source_payment_id IS NOT NULL"),
    )


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_source_payment")
        batch_op.drop_column("source_payment_id")

"""connector state: each stream's resume position and health, and the dead letters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:00:00

Backfills and syncs (Shopify's Admin API, Cegid Y2's web services and drop
folder) resume from ``connector_sync.checkpoint`` after a kill; the same row
carries the stream's last success, errors and circuit breaker for
``amigo connectors status``. What failed every retry waits in
``connector_dead_letter`` (payload sealed) until replayed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import amigo.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connector_sync",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connector", sa.String(length=40), nullable=False),
        sa.Column("stream", sa.String(length=60), nullable=False),
        sa.Column(
            "checkpoint",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("last_started_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_change_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("records_total", sa.BigInteger(), nullable=False),
        sa.Column("errors_total", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        # Encrypted text form (EncryptedText).
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "breaker_state",
            sa.Enum(
                "closed",
                "open",
                "half_open",
                name="breakerstate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("breaker_opened_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_sync")),
        sa.UniqueConstraint("connector", "stream", name=op.f("uq_connector_sync_connector_stream")),
    )
    op.create_table(
        "connector_dead_letter",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("connector", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=True),
        # Sealed (SealedJSON, binary form): what would be sent names a person.
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        # Encrypted text form (EncryptedText).
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "dead",
                "replayed",
                "discarded",
                name="deadletterstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_dead_letter")),
    )
    with op.batch_alter_table("connector_dead_letter", schema=None) as batch_op:
        batch_op.create_index(
            "ix_connector_dead_letter_open", ["connector", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("connector_dead_letter", schema=None) as batch_op:
        batch_op.drop_index("ix_connector_dead_letter_open")
    op.drop_table("connector_dead_letter")
    op.drop_table("connector_sync")

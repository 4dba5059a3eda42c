"""outbox pending index: the relay's query finds the unpublished events in id order

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00

The relay reads ``WHERE published_at IS NULL ORDER BY id LIMIT n``. With
only the index on ``published_at`` PostgreSQL either walks the primary key
through every published event (the oldest, most of the table) or collects
and sorts every pending one; a partial index on ``id`` of the pending rows
gives them in order, and stays as small as the backlog. It replaces the
index on ``published_at``, which no query needs any more (every one asks for
``IS NULL``) and which cost every event an index write at insert and another
when published.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_outbox_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        )
        batch_op.drop_index("ix_event_outbox_published_at")


def downgrade() -> None:
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_event_outbox_published_at", ["published_at"], unique=False)
        batch_op.drop_index("ix_event_outbox_pending")

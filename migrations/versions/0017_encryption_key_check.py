"""encryption key check: the check value of each key a database is written with

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:30:00

In the embedded mode the keys are files of the working directory, made on
first use: a command run from another directory made new keys there and
wrote values under them into the same database (core/keycheck.py). Each
database now records a check value per key (derived from the key, telling
nothing of it); an engine compares them with the keys in use on its first
connection and refuses others. A database written before this revision
records the keys of the first process that connects after it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from amigo.core.db import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "encryption_key_check",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key_id", name=op.f("pk_encryption_key_check")),
    )


def downgrade() -> None:
    op.drop_table("encryption_key_check")

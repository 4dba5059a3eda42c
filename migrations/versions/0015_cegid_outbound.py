"""cegid outbound: the values AMIgo wrote into Y2 customers, to recognise their echo

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:00:00

``amigo connectors cegid push`` (and its event consumer) remember each field
they wrote into a Y2 customer: when the inbound sync brings the same value
back, it is AMIgo's own write coming home, not a change made in a store, and
it is not pushed again (connectors/cegid/outbound.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import amigo.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cegid_outbound_value",
        sa.Column("customer_ref", sa.String(length=80), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=True),
        sa.Column("decided_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_ref", "field", name=op.f("pk_cegid_outbound_value")),
    )


def downgrade() -> None:
    op.drop_table("cegid_outbound_value")

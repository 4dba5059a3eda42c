"""identity resolution: match features, merges and their audit, review queue, outbox

The source customer snapshot on ``identity_link`` starts empty on existing
links (resolution fills it from the stored records); orders and interactions
get the link of the source customer they name, so that they follow it through
merges and unmerges.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 03:40:48.767271
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import amigo.core.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=True),
        sa.Column("time", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("published_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_event_outbox_event_id")),
    )
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_outbox_published_at"), ["published_at"], unique=False
        )

    op.create_table(
        "match_model",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_match_model")),
    )
    op.create_table(
        "resolution_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "batch",
                "incremental",
                "review",
                "manual",
                name="runkind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("started_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolution_run")),
    )
    op.create_table(
        "merge_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "survivor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "merged_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "field_changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "moved_link_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("merged_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unmerged_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unmerged_by", sa.String(length=100), nullable=True),
        sa.Column("unmerge_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["golden_customer.id"],
            name=op.f("fk_merge_event_merged_id_golden_customer"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["resolution_run.id"], name=op.f("fk_merge_event_run_id_resolution_run")
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["golden_customer.id"],
            name=op.f("fk_merge_event_survivor_id_golden_customer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_event")),
    )
    with op.batch_alter_table("merge_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merge_event_merged_id"), ["merged_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merge_event_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_merge_event_survivor_id"), ["survivor_id"], unique=False
        )

    op.create_table(
        "match_review",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "left_link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "right_link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "comparison",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "rejected",
                "superseded",
                name="reviewstatus",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["left_link_id"],
            ["identity_link.id"],
            name=op.f("fk_match_review_left_link_id_identity_link"),
        ),
        sa.ForeignKeyConstraint(
            ["right_link_id"],
            ["identity_link.id"],
            name=op.f("fk_match_review_right_link_id_identity_link"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["resolution_run.id"], name=op.f("fk_match_review_run_id_resolution_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_review")),
    )
    with op.batch_alter_table("match_review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_match_review_left_link_id"), ["left_link_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_match_review_right_link_id"), ["right_link_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_match_review_status"), ["status"], unique=False)

    op.create_table(
        "distinct_decision",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column(
            "merge_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("review_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", amigo.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merge_event_id"],
            ["merge_event.id"],
            name=op.f("fk_distinct_decision_merge_event_id_merge_event"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["match_review.id"],
            name=op.f("fk_distinct_decision_review_id_match_review"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distinct_decision")),
    )
    op.create_table(
        "distinct_decision_member",
        sa.Column(
            "decision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("side", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["distinct_decision.id"],
            name=op.f("fk_distinct_decision_member_decision_id_distinct_decision"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["identity_link.id"],
            name=op.f("fk_distinct_decision_member_link_id_identity_link"),
        ),
        sa.PrimaryKeyConstraint("decision_id", "link_id", name=op.f("pk_distinct_decision_member")),
    )
    with op.batch_alter_table("distinct_decision_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_distinct_decision_member_link_id"), ["link_id"], unique=False
        )

    op.create_table(
        "identity_reference",
        sa.Column("link_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["identity_link.id"],
            name=op.f("fk_identity_reference_link_id_identity_link"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "link_id", "system", "source_id", name=op.f("pk_identity_reference")
        ),
    )
    op.create_index("ix_identity_reference_target", "identity_reference", ["system", "source_id"])

    # Source customer records' snapshot and match keys. Existing links are
    # left empty: `amigo identity resolve` fills them from the stored records.
    for column in (
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_match_key", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("preferred_language", sa.String(length=8), nullable=True),
        sa.Column("preferred_store_id", sa.String(length=20), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("associate_id", sa.String(length=20), nullable=True),
        sa.Column("address_line1", sa.String(length=200), nullable=True),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("origin", sa.String(length=20), nullable=True),
        sa.Column("source_created_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("observed_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("first_name_key", sa.String(length=100), nullable=True),
        sa.Column("last_name_key", sa.String(length=100), nullable=True),
        sa.Column("name_key", sa.String(length=201), nullable=True),
        sa.Column("distinct_local_part", sa.String(length=320), nullable=True),
        sa.Column("updated_at", amigo.core.db.UTCDateTime(timezone=True), nullable=True),
    ):
        op.add_column("identity_link", column)
    _add_reference("identity_link", "record_id", "source_record")
    _add_reference("customer_order", "customer_link_id", "identity_link")
    _add_reference("interaction", "customer_link_id", "identity_link")
    for table, columns in (
        ("identity_link", ["email_match_key"]),
        ("identity_link", ["phone"]),
        ("identity_link", ["name_key"]),
        ("identity_link", ["birth_date"]),
        ("customer_order", ["customer_link_id"]),
        ("interaction", ["customer_link_id"]),
    ):
        name = (
            "ix_identity_link_" + columns[0]
            if table == "identity_link"
            else f"ix_{table}_{columns[0]}"
        )
        op.create_index(name, table, columns, unique=False)

    # Until now every source customer had a profile of its own: the order's
    # and the interaction's profile names their source customer's link.
    for table in ("customer_order", "interaction"):
        op.execute(
            f"UPDATE {table} SET customer_link_id = (SELECT l.id FROM identity_link l "  # noqa: S608
            f"WHERE l.customer_id = {table}.customer_id) WHERE customer_id IS NOT NULL"
        )


def _add_reference(table: str, column: str, referred: str) -> None:
    """Add a nullable foreign key column without rebuilding the table.

    Alembic's batch mode would copy the table on SQLite to add a constraint:
    minutes for the interactions of a full repository. SQLite's own ADD COLUMN
    takes a REFERENCES clause when the column defaults to NULL.
    """
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {referred} (id)")
    else:
        op.add_column(table, sa.Column(column, id_type, nullable=True))
        op.create_foreign_key(f"fk_{table}_{column}_{referred}", table, referred, [column], ["id"])


def downgrade() -> None:
    for table, column in (
        ("interaction", "customer_link_id"),
        ("customer_order", "customer_link_id"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_{column}")
            batch_op.drop_column(column)
    with op.batch_alter_table("identity_link", schema=None) as batch_op:
        for index in ("phone", "name_key", "email_match_key", "birth_date"):
            batch_op.drop_index(f"ix_identity_link_{index}")
        for column in (
            "email",
            "email_match_key",
            "first_name",
            "last_name",
            "phone",
            "birth_date",
            "preferred_language",
            "preferred_store_id",
            "tier",
            "associate_id",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "region",
            "country",
            "origin",
            "source_created_at",
            "observed_at",
            "closed",
            "first_name_key",
            "last_name_key",
            "name_key",
            "distinct_local_part",
            "updated_at",
            "record_id",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("distinct_decision_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distinct_decision_member_link_id"))

    op.drop_index("ix_identity_reference_target", table_name="identity_reference")
    op.drop_table("identity_reference")
    op.drop_table("distinct_decision_member")
    op.drop_table("distinct_decision")
    with op.batch_alter_table("match_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_review_status"))
        batch_op.drop_index(batch_op.f("ix_match_review_right_link_id"))
        batch_op.drop_index(batch_op.f("ix_match_review_left_link_id"))

    op.drop_table("match_review")
    with op.batch_alter_table("merge_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merge_event_survivor_id"))
        batch_op.drop_index(batch_op.f("ix_merge_event_run_id"))
        batch_op.drop_index(batch_op.f("ix_merge_event_merged_id"))

    op.drop_table("merge_event")
    op.drop_table("resolution_run")
    op.drop_table("match_model")
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_outbox_published_at"))

    op.drop_table("event_outbox")

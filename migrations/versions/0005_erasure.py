"""erasure: the suppression list; the consent ledger accepts one update, erasure's blanking of proofs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import amigo.core.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The only UPDATE the ledger accepts: every consent fact unchanged (who, what,
# which state, when, through what, by whom), the proof replaced by
# {"erased": "<request>"} and the source id by its "erased:" pseudonym. (coalesce:
# a NULL anywhere in the test must refuse, not let the row through.)
_SQLITE_ERASURE_ONLY = """
CREATE TRIGGER consent_event_erasure_only BEFORE UPDATE ON consent_event
WHEN NOT coalesce((
    NEW.id = OLD.id
    AND NEW.customer_id IS OLD.customer_id
    AND NEW.source_system = OLD.source_system
    AND NEW.source_record_id IS OLD.source_record_id
    AND NEW.purpose = OLD.purpose
    AND NEW.status = OLD.status
    AND NEW.occurred_at IS OLD.occurred_at
    AND NEW.time_basis = OLD.time_basis
    AND NEW.recorded_at = OLD.recorded_at
    AND NEW.channel = OLD.channel
    AND NEW.actor = OLD.actor
    AND NEW.raw_value IS OLD.raw_value
    AND (NEW.source_id IS OLD.source_id OR NEW.source_id LIKE 'erased:%')
    AND json_valid(NEW.proof)
    AND json_type(NEW.proof, '$.erased') = 'text'
    AND (SELECT count(*) FROM json_each(NEW.proof)) = 1
), 0)
BEGIN
    SELECT RAISE(ABORT, 'consent_event is append-only: ledger rows are never updated or deleted (UPDATE refused; only an erasure may blank a proof)');
END
"""

_POSTGRES_ERASURE_ONLY = """
CREATE OR REPLACE FUNCTION amigo_consent_erasure_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.customer_id, NEW.source_system, NEW.source_record_id, NEW.purpose,
        NEW.status, NEW.occurred_at, NEW.time_basis, NEW.recorded_at, NEW.channel,
        NEW.actor, NEW.raw_value)
       IS NOT DISTINCT FROM
       (OLD.id, OLD.customer_id, OLD.source_system, OLD.source_record_id, OLD.purpose,
        OLD.status, OLD.occurred_at, OLD.time_basis, OLD.recorded_at, OLD.channel,
        OLD.actor, OLD.raw_value)
       AND (NEW.source_id IS NOT DISTINCT FROM OLD.source_id OR NEW.source_id LIKE 'erased:%')
       AND jsonb_typeof(NEW.proof -> 'erased') = 'string'
       AND (NEW.proof - 'erased') = '{}'::jsonb
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_event is append-only: ledger rows are never updated or deleted '
        '(UPDATE refused; only an erasure may blank a proof)' USING ERRCODE = 'raise_exception';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "erasure_suppression",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "source",
                "email",
                "phone",
                "person",
                name="suppressionkind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("erased_at", amigo.core.db.UTCDateTime(), nullable=False),
        sa.Column("returned_at", amigo.core.db.UTCDateTime(), nullable=True),
        sa.Column("returned_via", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["subject_request.id"]),
        sa.PrimaryKeyConstraint("key_hash"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consent_event_append_only ON consent_event")
        op.execute(
            "CREATE TRIGGER consent_event_no_delete BEFORE DELETE ON consent_event "
            "FOR EACH ROW EXECUTE FUNCTION amigo_refuse_ledger_change()"
        )
        op.execute(_POSTGRES_ERASURE_ONLY)
        op.execute(
            "CREATE TRIGGER consent_event_erasure_only BEFORE UPDATE ON consent_event "
            "FOR EACH ROW EXECUTE FUNCTION amigo_consent_erasure_only()"
        )
    else:
        op.execute("DROP TRIGGER consent_event_no_update")
        op.execute(_SQLITE_ERASURE_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consent_event_erasure_only ON consent_event")
        op.execute("DROP FUNCTION amigo_consent_erasure_only()")
        op.execute("DROP TRIGGER consent_event_no_delete ON consent_event")
        op.execute(
            "CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event "
            "FOR EACH ROW EXECUTE FUNCTION amigo_refuse_ledger_change()"
        )
    else:
        op.execute("DROP TRIGGER consent_event_erasure_only")
        op.execute(
            "CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event "
            "BEGIN SELECT RAISE(ABORT, 'consent_event is append-only: ledger rows are never "
            "updated or deleted (UPDATE refused)'); END"
        )
    op.drop_table("erasure_suppression")

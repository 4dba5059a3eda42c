"""field encryption: direct identifiers encrypted, blind indexes for lookups, payloads sealed

Every value a column held in clear is rewritten under the process's key
(AMIGO_ENCRYPTION_KEY, or the embedded mode's key files, created here on first
use). Each column is replaced by a new one filled batch by batch, then swapped
in by name: SQLite cannot change a column's type in place without copying
tables that others reference. The plaintext stays on disk in free pages until
VACUUM (SQLite) or VACUUM FULL (PostgreSQL): the migration runs them when it
rewrote anything. Backups taken before still hold the plaintext.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from amigo.core.crypto import blind_index, current_crypto
from amigo.privacy.suppression import ORDER_CONTACT_SYSTEMS, order_contact_index

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000

# table -> the text columns encrypted in text form (field = table.column)
TEXT_COLUMNS = {
    "golden_customer": (
        "email",
        "email_match_key",
        "phone",
        "birth_date",
        "address_line1",
        "address_line2",
    ),
    "identity_link": (
        "email",
        "email_match_key",
        "phone",
        "birth_date",
        "address_line1",
        "address_line2",
        "distinct_local_part",
    ),
    "reject": ("message", "raw_payload"),
    "validation_issue": ("message", "value"),
    "subject_request": ("details",),
    "subject_request_step": ("note",),
}
# table -> JSON columns sealed whole in the binary form
SEALED_COLUMNS = {
    "source_record": ("payload",),
    "merge_event": ("field_changes",),
    "match_review": ("comparison",),
    "manual_rectification": ("value",),
}
NOT_NULL = {
    ("reject", "message"),
    ("reject", "raw_payload"),
    ("validation_issue", "message"),
    ("source_record", "payload"),
    ("merge_event", "field_changes"),
    ("match_review", "comparison"),
}
DROPPED_INDEXES = {
    "golden_customer": ("ix_golden_customer_email_match_key", "ix_golden_customer_phone"),
    "identity_link": (
        "ix_identity_link_email_match_key",
        "ix_identity_link_phone",
        "ix_identity_link_birth_date",
    ),
}
INDEX_COLUMNS = {
    "golden_customer": ("email_index", "phone_index"),
    "identity_link": ("email_index", "phone_index", "birth_date_index"),
    "source_record": ("contact_index",),
}
NEW_INDEXES = {
    "ix_golden_customer_email_index": ("golden_customer", "email_index"),
    "ix_golden_customer_phone_index": ("golden_customer", "phone_index"),
    "ix_identity_link_email_index": ("identity_link", "email_index"),
    "ix_identity_link_phone_index": ("identity_link", "phone_index"),
    "ix_identity_link_birth_date_index": ("identity_link", "birth_date_index"),
    "ix_source_record_contact_index": ("source_record", "contact_index"),
}


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _json(value: Any) -> Any:
    """Return a JSON column's value parsed: SQLite hands its text, PostgreSQL (jsonb) the value."""
    if op.get_bind().dialect.name != "sqlite" or value is None:
        return value
    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode()
    return orjson.loads(value)


def _rewrite(
    table: str,
    columns: Sequence[str],
    convert: Callable[[dict[str, Any]], dict[str, Any]],
) -> int:
    """Read every row's plaintext columns by id, write what ``convert`` returns; count rows."""
    bind = op.get_bind()
    selected = ", ".join(["id", *columns])
    last, count = -1, 0
    while True:
        rows = bind.execute(
            sa.text(
                f"SELECT {selected} FROM {table} WHERE id > :last ORDER BY id LIMIT {BATCH}"  # noqa: S608
            ),
            {"last": last},
        ).all()
        if not rows:
            return count
        updates = [{"b_id": row.id, **convert(dict(row._mapping))} for row in rows]
        names = [name for name in updates[0] if name != "b_id"]
        assignments = ", ".join(f"{name} = :{name}" for name in names)
        bind.execute(
            sa.text(f"UPDATE {table} SET {assignments} WHERE id = :b_id"),  # noqa: S608
            updates,
        )
        last = rows[-1].id
        count += len(rows)


def _converter(table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    cipher = current_crypto().cipher

    def convert(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in TEXT_COLUMNS.get(table, ()):
            value = row[column]
            out[f"{column}__enc"] = (
                None if value is None else cipher.encrypt(_iso(value), field=f"{table}.{column}")
            )
        for column in SEALED_COLUMNS.get(table, ()):
            value = _json(row[column])
            out[f"{column}__enc"] = (
                None
                if value is None
                else cipher.encrypt_bytes(
                    orjson.dumps(value, option=orjson.OPT_SORT_KEYS), field=f"{table}.{column}"
                )
            )
        if table in ("golden_customer", "identity_link"):
            out["email_index"] = blind_index(row["email_match_key"], field="email")
            out["phone_index"] = blind_index(row["phone"], field="phone")
        if table == "identity_link":
            birth = row["birth_date"]
            out["birth_date_index"] = (
                None if birth is None else blind_index(_iso(birth), field="birth_date")
            )
        if table == "source_record":
            out["contact_index"] = (
                order_contact_index(_json(row["payload"]))
                if row["source_system"] in ORDER_CONTACT_SYSTEMS and row["entity"] == "order"
                else None
            )
        return out

    return convert


def _placeholder(table: str, column: str, sealed: bool) -> sa.Column[Any]:
    column_type: Any = sa.LargeBinary() if sealed else sa.Text()
    if (table, column) in NOT_NULL:
        # A NOT NULL column added to filled rows needs a default; SQLite keeps it
        # (it cannot drop one without copying the table), PostgreSQL drops it below.
        default = sa.text("x''") if op.get_bind().dialect.name == "sqlite" and sealed else ""
        if sealed and op.get_bind().dialect.name == "postgresql":
            default = sa.text("'\\x'::bytea")
        return sa.Column(f"{column}__enc", column_type, nullable=False, server_default=default)
    return sa.Column(f"{column}__enc", column_type, nullable=True)


def upgrade() -> None:
    bind = op.get_bind()
    rewritten = 0
    for indexes in DROPPED_INDEXES.values():
        for name in indexes:
            op.execute(f'DROP INDEX IF EXISTS "{name}"')
    for table in (*TEXT_COLUMNS, *SEALED_COLUMNS):
        text_columns = TEXT_COLUMNS.get(table, ())
        sealed_columns = SEALED_COLUMNS.get(table, ())
        for column in text_columns:
            op.add_column(table, _placeholder(table, column, sealed=False))
        for column in sealed_columns:
            op.add_column(table, _placeholder(table, column, sealed=True))
        for column in INDEX_COLUMNS.get(table, ()):
            op.add_column(table, sa.Column(column, sa.String(length=22), nullable=True))
        needed = [*text_columns, *sealed_columns]
        extra = ["source_system", "entity"] if table == "source_record" else []
        rewritten += _rewrite(table, [*needed, *extra], _converter(table))
        for column in needed:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}__enc TO {column}")
            if (table, column) in NOT_NULL and bind.dialect.name == "postgresql":
                op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
    for name, (table, column) in NEW_INDEXES.items():
        op.create_index(name, table, [column], unique=False)
    if rewritten:
        _vacuum()


def _vacuum() -> None:
    """Leave no plaintext in free pages or dead tuples (outside the migration's transaction)."""
    bind = op.get_bind()
    tables = sorted({*TEXT_COLUMNS, *SEALED_COLUMNS})
    with op.get_context().autocommit_block():
        if bind.dialect.name == "sqlite":
            op.execute("VACUUM")
            op.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            for table in tables:
                op.execute(f"VACUUM FULL {table}")


def downgrade() -> None:
    raise NotImplementedError(
        "field encryption is not undone by a migration: restore the backup taken before 0010"
    )

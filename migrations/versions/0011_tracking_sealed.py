"""tracking data encrypted at rest: raw messages sealed, userIds encrypted, ids by blind index

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:00:00

``tracking_message.payload`` (JSON) becomes ``payload_sealed`` (the binary
form, field ``tracking_message.payload``); ``user_id`` is encrypted (text
form) and looked up by ``user_index``; ``tracking_identity.value`` becomes
the id's blind index. Existing rows are converted in batches with the
process's keys (``current_crypto()``: in embedded mode the key files of the
working directory, created if missing). The rewritten tables are then
vacuumed, so that no page of the database file keeps the plaintext; backups
taken before still hold it.
"""

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from amigo.core.crypto import blind_index, current_crypto
from amigo.tracking.screening import payload_traits, sent_part, traits_contacts

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
PAYLOAD_FIELD = "tracking_message.payload"
USER_ID_FIELD = "tracking_message.user_id"
# The blind index fields of amigo.tracking.models (copied: a migration does not follow the code).
INDEX_FIELDS = {"user": "tracking.user_id", "anonymous": "tracking.anonymous_id"}
JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _json_type() -> Any:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id_index(value: str, kind: str) -> str:
    # amigo.tracking.models.id_index: the id's UTF-8 bytes in hex, so that case is kept.
    return current_crypto().index.compute(value.encode().hex(), field=INDEX_FIELDS[kind])


def _messages(*columns: sa.Column[Any]) -> Any:
    return sa.table("tracking_message", sa.column("id", sa.BigInteger()), *columns)


def _identities(*columns: sa.Column[Any]) -> Any:
    return sa.table(
        "tracking_identity",
        sa.column("source_id", sa.BigInteger()),
        sa.column("kind", sa.String()),
        sa.column("value", sa.String()),
        *columns,
    )


def _pages(connection: sa.Connection, query: Any, key: Any) -> Any:
    """Yield the query's rows a batch at a time, by keyset on the integer key."""
    last = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = connection.execute(page.order_by(key).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _parsed(connection: sa.Connection, payload: Any) -> Any:
    if connection.dialect.name == "sqlite" and isinstance(payload, str):
        return orjson.loads(payload)
    return payload


def _contact_indexes(payload: Any) -> dict[str, str | None]:
    """Return the blind indexes of the email and phone a message's traits give."""
    if not isinstance(payload, dict):
        return {"_email_index": None, "_phone_index": None}
    email_key, phone = traits_contacts(payload_traits(sent_part(payload)))
    return {
        "_email_index": blind_index(email_key, field="email"),
        "_phone_index": blind_index(phone, field="phone"),
    }


def _seal_messages(connection: sa.Connection) -> int:
    cipher = current_crypto().cipher
    plain = _messages(sa.column("user_id", sa.Text()), sa.column("payload", _json_type()))
    sealed = _messages(
        sa.column("user_id", sa.Text()),
        sa.column("user_index", sa.String()),
        sa.column("payload_sealed", sa.LargeBinary()),
        sa.column("email_index", sa.String()),
        sa.column("phone_index", sa.String()),
    )
    update = (
        sealed.update()
        .where(sealed.c.id == sa.bindparam("_id"))
        .values(
            user_id=sa.bindparam("_user_id"),
            user_index=sa.bindparam("_user_index"),
            payload_sealed=sa.bindparam("_sealed"),
            email_index=sa.bindparam("_email_index"),
            phone_index=sa.bindparam("_phone_index"),
        )
    )
    converted = 0
    query = sa.select(plain.c.id, plain.c.user_id, plain.c.payload)
    for rows in _pages(connection, query, plain.c.id):
        connection.execute(
            update,
            [
                {
                    "_id": row.id,
                    "_user_id": None
                    if row.user_id is None
                    else cipher.encrypt(row.user_id, field=USER_ID_FIELD),
                    "_user_index": None if row.user_id is None else _id_index(row.user_id, "user"),
                    "_sealed": cipher.encrypt_bytes(
                        orjson.dumps(row.payload, option=JSON_OPTIONS), field=PAYLOAD_FIELD
                    ),
                    **_contact_indexes(_parsed(connection, row.payload)),
                }
                for row in rows
            ],
        )
        converted += len(rows)
    return converted


def _index_identities(connection: sa.Connection) -> int:
    """Replace each tracking_identity.value by its index: staged in a column, then swapped."""
    staged = _identities(sa.column("value_index", sa.String()))
    update = (
        staged.update()
        .where(
            staged.c.source_id == sa.bindparam("_source_id"),
            staged.c.kind == sa.bindparam("_kind"),
            staged.c.value == sa.bindparam("_value"),
        )
        .values(value_index=sa.bindparam("_index"))
    )
    converted = 0
    key = sa.tuple_(staged.c.source_id, staged.c.kind, staged.c.value)
    query = sa.select(staged.c.source_id, staged.c.kind, staged.c.value).order_by(
        staged.c.source_id, staged.c.kind, staged.c.value
    )
    last: Any = None
    while True:
        page = query if last is None else query.where(key > sa.tuple_(*last))
        rows = connection.execute(page.limit(BATCH)).all()
        if not rows:
            break
        last = tuple(rows[-1])
        connection.execute(
            update,
            [
                {
                    "_source_id": row.source_id,
                    "_kind": row.kind,
                    "_value": row.value,
                    "_index": _id_index(row.value, row.kind),
                }
                for row in rows
            ],
        )
        converted += len(rows)
    if converted:
        connection.execute(staged.update().values(value=staged.c.value_index))
    return converted


def _vacuum(tables: Sequence[str]) -> None:
    """Rewrite the tables so that the plaintext they held leaves the database files."""
    bind = op.get_bind()
    with op.get_context().autocommit_block():
        if bind.dialect.name == "postgresql":
            op.execute(f"VACUUM FULL {', '.join(tables)}")
        else:
            op.execute("VACUUM")


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_index", sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column("payload_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("email_index", sa.String(length=22), nullable=True))
        batch_op.add_column(sa.Column("phone_index", sa.String(length=22), nullable=True))
        batch_op.alter_column(
            "user_id", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True
        )
        batch_op.drop_index("ix_tracking_message_source_user")
    with op.batch_alter_table("tracking_identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value_index", sa.String(length=22), nullable=True))
    converted = _seal_messages(connection) + _index_identities(connection)
    with op.batch_alter_table("tracking_identity", schema=None) as batch_op:
        batch_op.drop_column("value_index")
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.alter_column("payload_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("payload")
        batch_op.create_index(
            "ix_tracking_message_source_user_index", ["source_id", "user_index"], unique=False
        )
        for column in ("email_index", "phone_index"):
            batch_op.create_index(
                f"ix_tracking_message_{column}",
                [column],
                unique=False,
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
                sqlite_where=sa.text(f"{column} IS NOT NULL"),
            )
    if converted:
        _vacuum(["tracking_message", "tracking_identity"])


def _open_messages(connection: sa.Connection) -> dict[tuple[int, str, str], str]:
    """Put the messages back in clear; return each id's index -> the id, per source."""
    cipher = current_crypto().cipher
    sealed = _messages(
        sa.column("source_id", sa.BigInteger()),
        sa.column("user_id", sa.Text()),
        sa.column("anonymous_id", sa.String()),
        sa.column("payload_sealed", sa.LargeBinary()),
    )
    plain = _messages(sa.column("user_id", sa.Text()), sa.column("payload", _json_type()))
    update = (
        plain.update()
        .where(plain.c.id == sa.bindparam("_id"))
        .values(user_id=sa.bindparam("_user_id"), payload=sa.bindparam("_payload"))
    )
    ids: dict[tuple[int, str, str], str] = {}
    query = sa.select(
        sealed.c.id,
        sealed.c.source_id,
        sealed.c.user_id,
        sealed.c.anonymous_id,
        sealed.c.payload_sealed,
    )
    for rows in _pages(connection, query, sealed.c.id):
        changes = []
        for row in rows:
            user_id = None
            if row.user_id is not None:
                user_id = cipher.decrypt(row.user_id, field=USER_ID_FIELD)
                ids[(row.source_id, "user", _id_index(user_id, "user"))] = user_id
            if row.anonymous_id is not None:
                index = _id_index(row.anonymous_id, "anonymous")
                ids[(row.source_id, "anonymous", index)] = row.anonymous_id
            payload = cipher.decrypt_bytes(bytes(row.payload_sealed), field=PAYLOAD_FIELD)
            changes.append({"_id": row.id, "_user_id": user_id, "_payload": orjson.loads(payload)})
        connection.execute(update, changes)
    return ids


def downgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", _json_type(), nullable=True))
        batch_op.drop_index("ix_tracking_message_source_user_index")
        batch_op.drop_index("ix_tracking_message_email_index")
        batch_op.drop_index("ix_tracking_message_phone_index")
    ids = _open_messages(connection)
    # An index leads back to its id only through a message sent under it; the rest
    # (none, unless messages were deleted) go, and are learned again from new messages.
    identities = _identities()
    for row in connection.execute(
        sa.select(identities.c.source_id, identities.c.kind, identities.c.value)
    ).all():
        where = (
            (identities.c.source_id == row.source_id)
            & (identities.c.kind == row.kind)
            & (identities.c.value == row.value)
        )
        original = ids.get((row.source_id, row.kind, row.value))
        if original is None:
            connection.execute(identities.delete().where(where))
        else:
            connection.execute(identities.update().where(where).values(value=original))
    with op.batch_alter_table("tracking_message", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=_json_type(), nullable=False)
        batch_op.drop_column("payload_sealed")
        batch_op.drop_column("user_index")
        batch_op.drop_column("email_index")
        batch_op.drop_column("phone_index")
        batch_op.alter_column(
            "user_id", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True
        )
        batch_op.create_index(
            "ix_tracking_message_source_user", ["source_id", "user_id"], unique=False
        )

"""Key rotation: every encrypted value of a table re-encrypted under the current key, while serving.

Keyset pagination on the primary key and short transactions per batch; each
row is written only if it still holds what was read (compare and set), so
the API keeps reading and writing throughout (docs/encryption.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from amigo.core.crypto import EncryptedType, FieldCipher, add_key, current_crypto
from amigo.core.keycheck import verify_keys
from amigo.core.sealed import SealedJSON


@dataclass
class RotationStats:
    """What a re-encryption of one table did."""

    table: str
    columns: tuple[str, ...]
    batches: int = 0
    rows: int = 0  # rows read that held a value under an older key
    values: int = 0  # values re-encrypted
    conflicts: int = 0  # rows changed by another writer meanwhile: left as written, next pass
    passes: int = 0
    remaining: int = 0  # values still under an older key at the end (0 when done)


def encrypted_tables(metadata: MetaData) -> list[Table]:
    """Return the tables of a schema that have encrypted columns, in dependency order."""
    return [table for table in metadata.sorted_tables if encrypted_columns(table)]


def encrypted_columns(table: Table) -> dict[str, str]:
    """Return the table's encrypted columns (text and binary forms): column name -> field name."""
    return {
        c.name: c.type.field
        for c in table.columns
        if isinstance(c.type, EncryptedType | SealedJSON)
    }


def _is_binary(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, SealedJSON)


def _prefix(table: Table, name: str, cipher: FieldCipher) -> str | bytes:
    return cipher.current_binary_prefix if _is_binary(table, name) else cipher.current_prefix


def _stale_value(raw: Any, name: str, prefix: str | bytes) -> ColumnElement[bool]:
    # substr, not LIKE: key ids may hold "_", a LIKE wildcard, and SQLite's LIKE ignores case.
    # On a blob (bytea) substr counts bytes: the binary form's header.
    return and_(raw.c[name].is_not(None), func.substr(raw.c[name], 1, len(prefix)) != prefix)


def _stale(
    table: Table, raw: Any, columns: Mapping[str, str], cipher: FieldCipher
) -> ColumnElement[bool]:
    return or_(*(_stale_value(raw, name, _prefix(table, name, cipher)) for name in columns))


def _raw_table(table: Table, columns: Mapping[str, str]) -> tuple[Any, str]:
    keys = list(table.primary_key.columns)
    if len(keys) != 1:
        raise ValueError(f"{table.name}: re-encryption pages on a single-column primary key")
    key = keys[0]
    # The stored value as it is, not through the encrypted type: nothing is decrypted by reading.
    raw = sql_table(
        table.name,
        sql_column(key.name, key.type),
        *(
            sql_column(name, LargeBinary() if _is_binary(table, name) else Text())
            for name in columns
        ),
        schema=table.schema,
    )
    return raw, key.name


def count_stale(engine: Engine, table: Table, *, cipher: FieldCipher | None = None) -> int:
    """Count the table's encrypted values that are not under the current key."""
    cipher = cipher or current_crypto().cipher
    columns = encrypted_columns(table)
    if not columns:
        return 0
    raw, _ = _raw_table(table, columns)
    total = 0
    with engine.connect() as connection:
        for name in columns:
            stale = _stale_value(raw, name, _prefix(table, name, cipher))
            total += connection.scalar(select(func.count()).select_from(raw).where(stale)) or 0
    return total


def reencrypt_table(
    engine: Engine,
    table: Table,
    *,
    cipher: FieldCipher | None = None,
    batch_size: int = 1000,
    max_passes: int = 3,
    on_batch: Callable[[RotationStats], None] | None = None,
) -> RotationStats:
    """Re-encrypt every value of the table's encrypted columns under the current key.

    Keyset pagination on the primary key, short transactions per batch, so
    the API keeps reading and writing meanwhile. Each row is updated only if
    its values are still the ones read (compare and set): a row another
    process rewrote in between keeps that write, and a later pass picks it up
    if it is still stale (a process not yet restarted with the new ring).
    """
    cipher = cipher or current_crypto().cipher
    columns = encrypted_columns(table)
    stats = RotationStats(table=table.name, columns=tuple(columns))
    if not columns:
        return stats
    raw, key = _raw_table(table, columns)
    update = (
        raw.update()
        .where(raw.c[key] == bindparam("_key"))
        .where(*(raw.c[name].is_not_distinct_from(bindparam(f"_old_{name}")) for name in columns))
        .values({name: bindparam(f"_new_{name}") for name in columns})
    )
    for _ in range(max_passes):
        stats.passes += 1
        last: Any = None
        while True:
            query = select(raw).where(_stale(table, raw, columns, cipher)).order_by(raw.c[key])
            if last is not None:
                query = query.where(raw.c[key] > last)
            # Read and write in two transactions; the compare and set makes that
            # safe, and on SQLite a write transaction that began by reading could
            # not commit after another connection's write (a stale WAL snapshot).
            with engine.connect() as connection:
                rows = connection.execute(query.limit(batch_size)).mappings().all()
            if not rows:
                break
            changes = []
            for row in rows:
                change = {"_key": row[key]}
                for name, field_name in columns.items():
                    old = row[name]
                    new: Any
                    if old is None:
                        new = None
                    elif _is_binary(table, name):
                        old = bytes(old)
                        new = cipher.reencrypt_bytes(old, field=field_name)
                    else:
                        new = cipher.reencrypt(old, field=field_name)
                    stats.values += new is not old
                    change[f"_old_{name}"] = old
                    change[f"_new_{name}"] = new
                changes.append(change)
            with engine.begin() as connection:
                written = connection.execute(update, changes).rowcount
            last = rows[-1][key]
            stats.batches += 1
            stats.rows += len(rows)
            stats.conflicts += len(rows) - written
            if on_batch is not None:
                on_batch(stats)
        stats.remaining = count_stale(engine, table, cipher=cipher)
        if not stats.remaining:
            break
    return stats


@dataclass
class RotationReport:
    """What `amigo keys rotate` did: the key now current, whether it is new, each table."""

    key_id: str
    added: bool
    tables: list[RotationStats]

    @property
    def remaining(self) -> int:
        """Count the values still under an older key (0: the old keys may leave the ring)."""
        return sum(stats.remaining for stats in self.tables)


def rotate_keys(
    *,
    engine: Engine,
    metadata: MetaData,
    new_key: bool,
    batch_size: int = 1000,
    on_batch: Callable[[RotationStats], None] | None = None,
) -> RotationReport:
    """Re-encrypt every encrypted column of the schema under the current key, after adding one.

    ``new_key``: first put a new key in front of the embedded mode's key file
    (the processes still serving reload it when they meet a value under it).
    With AMIGO_ENCRYPTION_KEY the operator does that in the environment.
    """
    crypto = add_key(current_crypto()) if new_key else current_crypto()
    with engine.begin() as connection:
        # The new key's check value is recorded before any value is written under it.
        verify_keys(connection, crypto)
    tables = [
        reencrypt_table(
            engine, table, cipher=crypto.cipher, batch_size=batch_size, on_batch=on_batch
        )
        for table in encrypted_tables(metadata)
    ]
    return RotationReport(key_id=crypto.cipher.current_key_id, added=new_key, tables=tables)


__all__ = [
    "RotationReport",
    "RotationStats",
    "count_stale",
    "encrypted_columns",
    "encrypted_tables",
    "reencrypt_table",
]

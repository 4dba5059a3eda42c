"""Which encryption keys a database was written with: other keys are refused before any read or write.

In the embedded mode the keys live in files of the working directory, made on
first use. A command run from another directory would otherwise make new
keys there, write new values under them (readable by nobody holding the
database's keys) and compute blind indexes that match no stored one, so
that a returning customer becomes a new profile. Each database therefore
records a check value per key (``KeyRing.check_values``: it says which key
it is and nothing of the key), and every engine compares them with the keys
in use on its first connection:

- a key id or the blind index key recorded with another check value: refused,
  naming the key file in use;
- recorded keys, and no key file here: refused, and no key file is made (so
  too, before the check table exists, where a profile's e-mail is encrypted:
  an upgrade from another directory makes no key file for its migrations);
- keys the database has not seen yet (a new database, a rotation's new key):
  recorded.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, String, event, inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.clock import utcnow
from amigo.core.config import get_settings
from amigo.core.crypto import (
    CryptoError,
    FieldCipher,
    FieldCrypto,
    KeyConfigurationError,
    crypto_is_configured,
    current_crypto,
    missing_key_files,
)
from amigo.core.db import Base, UTCDateTime, table_of

_HOW_TO = (
    "run the command from the directory that holds the database's key files "
    "(amigo-encryption.key, amigo-index.key), or point AMIGO_ENCRYPTION_KEY_FILE and "
    "AMIGO_ENCRYPTION_INDEX_KEY_FILE at them (docs/encryption.md)"
)


class EncryptionKeyCheck(Base):
    """The check value of a key this database's values are written with (never the key)."""

    __tablename__ = "encryption_key_check"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # field or index
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "" for the index key
    check_value: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


key_checks = table_of(EncryptionKeyCheck)


class KeyMismatchError(KeyConfigurationError):
    """The keys in use are not those the database was written with."""

    code = "wrong_encryption_keys"


def recorded_checks(connection: Connection) -> dict[tuple[str, str], str]:
    """Return the database's recorded check values by (kind, key id)."""
    rows = connection.execute(
        select(key_checks.c.kind, key_checks.c.key_id, key_checks.c.check_value)
    )
    return {(row.kind, row.key_id): row.check_value for row in rows}


def _keys_for(connection: Connection, recorded: dict[tuple[str, str], str]) -> FieldCrypto:
    """Return the keys in use; a database written with keys never gets new key files made."""
    _refuse_new_key_files(connection, written_with_keys=bool(recorded))
    return current_crypto()


def _refuse_new_key_files(connection: Connection, *, written_with_keys: bool) -> None:
    """Refuse to go on where the key files are missing and the database is written with keys.

    Without the check table (a database written before revision 0017, about
    to be upgraded), an encrypted value stored in a profile says so: an
    upgrade run from another directory would otherwise make key files there
    for its migrations, which then fail on the first value they open.
    """
    if crypto_is_configured():
        return
    missing = missing_key_files(get_settings().encryption)
    if missing and (written_with_keys or _holds_encrypted_values(connection)):
        raise KeyMismatchError(
            f"this database is written with encryption keys, and there is no {_names(missing)}: "
            f"{_HOW_TO}. No key was made; nothing was read or written."
        )


def _holds_encrypted_values(connection: Connection) -> bool:
    """Say whether a stored profile's e-mail is encrypted (it was plain text before 0010)."""
    if not inspect(connection).has_table("golden_customer"):
        return False
    stored = _stored_email(connection)
    if stored is None:
        return False
    try:
        FieldCipher.key_id_of(stored)
    except CryptoError:
        return False
    return True


def _names(paths: list[Path]) -> str:
    return " nor ".join(str(path) for path in paths)


def verify_keys(connection: Connection, crypto: FieldCrypto | None = None) -> bool:
    """Refuse keys other than the database's; record those it has not seen.

    Return False when the schema has no check table yet (nothing checked).
    """
    if not inspect(connection).has_table(EncryptionKeyCheck.__tablename__):
        if crypto is None:
            _refuse_new_key_files(connection, written_with_keys=False)
        return False
    recorded = recorded_checks(connection)
    crypto = crypto or _keys_for(connection, recorded)
    ours = crypto.check_values()
    wrong = [key for key, value in ours.items() if recorded.get(key, value) != value]
    if not recorded and not _opens_stored_value(connection, crypto):
        wrong = [("field", crypto.cipher.current_key_id)]
    if wrong:
        what = " and ".join(
            "the blind index key" if kind == "index" else f"key {key_id!r}"
            for kind, key_id in wrong
        )
        raise KeyMismatchError(
            f"the encryption keys in use ({crypto.source}) are not those this database was "
            f"written with ({what} {'differ' if len(wrong) > 1 else 'differs'}): {_HOW_TO}. "
            "Nothing was read or written."
        )
    new = [key for key in ours if key not in recorded]
    if new:
        record_checks(connection, {key: ours[key] for key in new})
        # Another process may have recorded other values meanwhile: what stands is what counts.
        recorded = recorded_checks(connection)
        if any(recorded[key] != ours[key] for key in new):
            raise KeyMismatchError(
                f"another process recorded other encryption keys for this database at the same "
                f"time as {crypto.source}: {_HOW_TO}"
            )
    return True


def _opens_stored_value(connection: Connection, crypto: FieldCrypto) -> bool:
    """Say whether the keys open a stored profile's e-mail, when there is one.

    A database written before its keys were recorded (before revision 0017)
    records those of the first process to connect: only once they are shown
    to be the ones its values were written with.
    """
    stored = _stored_email(connection)
    if stored is None:
        return True
    try:
        crypto.cipher.decrypt(stored, field="golden_customer.email")
    except CryptoError:
        return False
    return True


def _stored_email(connection: Connection) -> str | None:
    """Return one stored profile's e-mail as stored (encrypted since 0010), if any."""
    stored = connection.execute(
        text("SELECT email FROM golden_customer WHERE email IS NOT NULL LIMIT 1")
    ).scalar()
    return None if stored is None else str(stored)


def record_checks(connection: Connection, checks: dict[tuple[str, str], str]) -> None:
    """Record check values, keeping any already recorded for the same key."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    connection.execute(
        insert(key_checks).on_conflict_do_nothing(),
        [
            {"kind": kind, "key_id": key_id, "check_value": value, "recorded_at": now}
            for (kind, key_id), value in checks.items()
        ],
    )


def watch_keys(engine: Engine) -> None:
    """Check the keys in use against the database's on the engine's first connection.

    Until the schema has its check table (before ``amigo db upgrade``), each new
    connection looks again; once a check passed, none does.
    """
    verified: list[bool] = []

    @event.listens_for(engine, "engine_connect")
    def _check(connection: Connection) -> None:
        if verified:
            return
        try:
            with connection.begin():
                checked = verify_keys(connection)
        except Exception:
            connection.close()
            raise
        if checked:
            verified.append(True)


__all__ = [
    "EncryptionKeyCheck",
    "KeyMismatchError",
    "key_checks",
    "record_checks",
    "recorded_checks",
    "verify_keys",
    "watch_keys",
]

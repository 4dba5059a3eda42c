"""Sealed JSON documents (the binary form) in the database, and their rotation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select, text, update

from amigo.core.crypto import (
    BlindIndex,
    EncryptedText,
    FieldCipher,
    FieldCrypto,
    KeyRing,
    TamperedValueError,
    new_key,
    using_crypto,
)
from amigo.core.rotation import count_stale, encrypted_columns, reencrypt_table
from amigo.core.sealed import SealedJSON, open_json, seal_json
from amigo.core.sql import JsonText, bulk_insert

metadata = MetaData()
documents = Table(
    "sealed_test_document",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("body", SealedJSON("sealed_test_document.body")),
    Column("owner", EncryptedText("sealed_test_document.owner")),
    Column("kind", String(10)),
)


@pytest.fixture
def crypto() -> Iterator[FieldCrypto]:
    ring = KeyRing.parse(f"k1:{new_key()}")
    with using_crypto(FieldCrypto(FieldCipher(ring), BlindIndex(os.urandom(32)))) as active:
        yield active


@pytest.fixture
def documents_engine(database_factory: Any, open_engine: Any, crypto: FieldCrypto) -> Engine:
    engine: Engine = open_engine(database_factory.new_url(migrate=False))
    metadata.create_all(engine)
    return engine


def _row(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "body": {"traits": {"email": f"doc.{number}@example.org"}, "n": number},
        "owner": f"owner-{number}",
        "kind": "a",
    }


def test_a_document_is_sealed_to_its_field(crypto: FieldCrypto) -> None:
    sealed = seal_json({"b": 1, "a": [1, "é"]}, field="t.body")
    assert sealed.startswith(crypto.cipher.current_binary_prefix)
    assert b"\xc3\xa9" not in sealed
    assert open_json(sealed, field="t.body") == {"a": [1, "é"], "b": 1}
    assert open_json(seal_json(JsonText('{"x": 1}'), field="t.body"), field="t.body") == {"x": 1}
    assert open_json(seal_json(b'{"x": 2}', field="t.body"), field="t.body") == {"x": 2}
    # A plain str is a JSON string value (a rectified email), not serialized JSON.
    assert open_json(seal_json("a@b.fr", field="t.body"), field="t.body") == "a@b.fr"
    with pytest.raises(TamperedValueError):
        open_json(sealed, field="t.other")
    with pytest.raises(TypeError, match="is encrypted"):
        documents.c.body == {"a": 1}  # noqa: B015 - the comparison itself raises


def test_sealed_columns_round_trip_and_rotate_with_text_ones(
    documents_engine: Engine, crypto: FieldCrypto
) -> None:
    engine = documents_engine
    rows = [_row(n) for n in range(1, 121)]
    rows[3]["body"] = None  # a NULL stays NULL
    with engine.begin() as connection:
        bulk_insert(connection, documents, rows[:60])  # the bulk path seals too
        connection.execute(documents.insert(), rows[60:])
    assert encrypted_columns(documents) == {
        "body": "sealed_test_document.body",
        "owner": "sealed_test_document.owner",
    }
    new = FieldCrypto(FieldCipher(crypto.cipher.ring.with_new_key()), crypto.index)
    with using_crypto(new):
        assert count_stale(engine, documents) == 2 * 120 - 1
        stats = reencrypt_table(engine, documents, batch_size=50)
        assert (stats.rows, stats.values, stats.batches) == (120, 2 * 120 - 1, 3)
        assert (stats.conflicts, stats.remaining) == (0, 0)
        again = reencrypt_table(engine, documents, batch_size=50)
        assert (again.rows, again.values) == (0, 0)
    only_new = KeyRing(current_id="k2", keys={"k2": new.cipher.ring.keys["k2"]})
    with (
        using_crypto(FieldCrypto(FieldCipher(only_new), crypto.index)),
        engine.connect() as connection,
    ):
        read = [
            dict(r)
            for r in connection.execute(select(documents).order_by(documents.c.id)).mappings()
        ]
        raw = connection.execute(text("SELECT body FROM sealed_test_document")).scalars()
        prefix = FieldCipher(only_new).current_binary_prefix
        assert all(value is None or bytes(value).startswith(prefix) for value in raw)
    assert read == rows


def test_rotation_of_a_sealed_column_leaves_a_concurrent_write_as_written(
    documents_engine: Engine, crypto: FieldCrypto
) -> None:
    engine = documents_engine
    with engine.begin() as connection:
        connection.execute(documents.insert(), [_row(n) for n in range(1, 6)])
    old = crypto.cipher
    new = FieldCipher(old.ring.with_new_key())
    real_encrypt = new.encrypt_bytes
    interfered: list[int] = []

    def encrypt_with_interference(data: bytes, *, field: str) -> bytes:
        if not interfered:  # a process still on the old key rewrites row 3 meanwhile
            interfered.append(3)
            with using_crypto(FieldCrypto(old, crypto.index)), engine.begin() as connection:
                connection.execute(
                    update(documents).where(documents.c.id == 3).values(body={"new": True})
                )
        return real_encrypt(data, field=field)

    new.encrypt_bytes = encrypt_with_interference  # type: ignore[method-assign]
    with using_crypto(FieldCrypto(new, crypto.index)):
        stats = reencrypt_table(engine, documents, batch_size=100)
        assert (stats.conflicts, stats.passes, stats.remaining) == (1, 2, 0)
        with engine.connect() as connection:
            body = connection.execute(select(documents.c.body).where(documents.c.id == 3)).scalar()
    assert body == {"new": True}

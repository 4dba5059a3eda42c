"""Field encryption: round trips, tampering, field binding, rotation, blind indexes, raw dumps."""

from __future__ import annotations

import base64
import hmac
import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select, text, update

from amigo.core.config import EncryptionSettings, Settings
from amigo.core.crypto import (
    BlindIndex,
    EncryptedDate,
    EncryptedText,
    FieldCipher,
    FieldCrypto,
    KeyConfigurationError,
    KeyRing,
    MalformedValueError,
    TamperedValueError,
    UnknownKeyError,
    crypto_from_settings,
    current_crypto,
    new_key,
    using_crypto,
)
from amigo.core.rotation import (
    count_stale,
    encrypted_columns,
    encrypted_tables,
    reencrypt_table,
    rotate_keys,
)
from amigo.core.sql import bulk_insert
from dumps import raw_dump

EMAIL = "crypto_test_person.email"
metadata = MetaData()
people = Table(
    "crypto_test_person",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", EncryptedText(EMAIL)),
    Column("email_index", String(22), index=True),
    Column("phone", EncryptedText("crypto_test_person.phone")),
    Column("birth_date", EncryptedDate("crypto_test_person.birth_date")),
    Column("city", String(100)),  # not encrypted: the dumps' positive control
)


def _ring(*ids: str) -> KeyRing:
    return KeyRing.parse(",".join(f"{key_id}:{new_key()}" for key_id in ids))


@pytest.fixture
def crypto() -> Iterator[FieldCrypto]:
    """Install a fresh key ring and blind index key for the test."""
    with using_crypto(FieldCrypto(FieldCipher(_ring("k1")), BlindIndex(os.urandom(32)))) as active:
        yield active


@pytest.fixture
def people_engine(
    database_factory: Any, open_engine: Any, crypto: FieldCrypto
) -> tuple[Engine, str]:
    """Return an engine on a new empty database holding the test table, and its URL."""
    url = database_factory.new_url(migrate=False)
    engine: Engine = open_engine(url)
    metadata.create_all(engine)
    return engine, url


def _person(number: int, index: BlindIndex) -> dict[str, Any]:
    email = f"person.{number:05d}@example.org"
    return {
        "id": number,
        "email": email,
        "email_index": index.compute(email, field="email"),
        "phone": f"+336{number:08d}",
        "birth_date": date(1970, 1, 1 + number % 28),
        "city": f"Lyonville-{number:05d}",
    }


# --- the cipher -----------------------------------------------------------------


def test_round_trip_of_text_and_bytes(crypto: FieldCrypto) -> None:
    cipher = crypto.cipher
    for value in ["jane.doe@example.com", "", "Zoë Łukasz 東京都港区 🏬", "x" * 5000]:
        stored = cipher.encrypt(value, field=EMAIL)
        assert stored.startswith("v1.k1.")
        assert value not in stored or value == ""
        assert cipher.decrypt(stored, field=EMAIL) == value
    blob = cipher.encrypt_bytes(b'{"email": "a@b.c"}', field="source_record.payload")
    assert blob[:4] == b"\x01\x02k1"
    assert cipher.decrypt_bytes(blob, field="source_record.payload") == b'{"email": "a@b.c"}'


_ROUND_TRIP_CIPHER = FieldCipher(KeyRing.parse(f"k1:{new_key()}"))


@settings(max_examples=300, deadline=None)
@given(value=st.text(), data=st.binary(max_size=2000), field=st.text(min_size=1, max_size=40))
def test_every_value_round_trips_and_only_in_its_field(value: str, data: bytes, field: str) -> None:
    cipher = _ROUND_TRIP_CIPHER
    try:
        value.encode()
    except UnicodeEncodeError:
        return  # lone surrogates: not text a database column stores
    stored = cipher.encrypt(value, field=field)
    assert cipher.decrypt(stored, field=field) == value
    assert cipher.decrypt_bytes(cipher.encrypt_bytes(data, field=field), field=field) == data
    with pytest.raises(TamperedValueError):
        cipher.decrypt(stored, field=field + "x")


def test_each_encryption_draws_a_new_nonce(crypto: FieldCrypto) -> None:
    values = {crypto.cipher.encrypt("same@example.com", field=EMAIL) for _ in range(100)}
    assert len(values) == 100


def test_an_altered_value_fails_authentication(crypto: FieldCrypto) -> None:
    cipher = crypto.cipher
    stored = cipher.encrypt("jane.doe@example.com", field=EMAIL)
    body = bytearray(base64.b64decode(stored[6:], validate=True))
    for position in (0, 12, len(body) - 1):  # the nonce, the ciphertext, the tag
        altered = bytearray(body)
        altered[position] ^= 0x01
        forged = "v1.k1." + base64.b64encode(bytes(altered)).decode()
        with pytest.raises(TamperedValueError, match="fails authentication"):
            cipher.decrypt(forged, field=EMAIL)
    with pytest.raises(TamperedValueError, match="truncated"):
        cipher.decrypt("v1.k1." + base64.b64encode(bytes(body[:27])).decode(), field=EMAIL)
    with pytest.raises(MalformedValueError, match="damaged body"):
        cipher.decrypt(stored[:21], field=EMAIL)
    blob = bytearray(cipher.encrypt_bytes(b"payload", field=EMAIL))
    blob[-1] ^= 0x80
    with pytest.raises(TamperedValueError):
        cipher.decrypt_bytes(bytes(blob), field=EMAIL)


def test_the_header_is_authenticated_too() -> None:
    # Relabelling a k1 value as k2 (both in the ring) must not pass.
    cipher = FieldCipher(_ring("k2", "k1"))
    old = FieldCipher(KeyRing(current_id="k1", keys={"k1": cipher.ring.keys["k1"]}))
    stored = old.encrypt("jane@example.com", field=EMAIL)
    assert cipher.decrypt(stored, field=EMAIL) == "jane@example.com"
    with pytest.raises(TamperedValueError):
        cipher.decrypt("v1.k2." + stored[6:], field=EMAIL)


def test_plaintext_and_other_versions_are_refused_clearly(crypto: FieldCrypto) -> None:
    for stored in ["jane@example.com", "v2.k1.AAAA", "v1.k1", ""]:
        with pytest.raises(MalformedValueError, match="not an encrypted"):
            crypto.cipher.decrypt(stored, field=EMAIL)
    with pytest.raises(MalformedValueError, match="damaged"):
        crypto.cipher.decrypt("v1.k1.not*base64!", field=EMAIL)
    with pytest.raises(MalformedValueError):
        crypto.cipher.decrypt_bytes(b"\x02\x02k1", field=EMAIL)


def test_a_value_moved_to_another_field_does_not_decrypt(crypto: FieldCrypto) -> None:
    stored = crypto.cipher.encrypt("+33612345678", field="golden_customer.phone")
    assert crypto.cipher.decrypt(stored, field="golden_customer.phone") == "+33612345678"
    for other in ("golden_customer.email", "source_customer.phone", "golden_customer.phone "):
        with pytest.raises(TamperedValueError, match="copied from another field"):
            crypto.cipher.decrypt(stored, field=other)


def test_an_unknown_key_id_is_named() -> None:
    stored = FieldCipher(_ring("k9")).encrypt("jane@example.com", field=EMAIL)
    with pytest.raises(UnknownKeyError, match=r"key 'k9'.*holds k2, k1"):
        FieldCipher(_ring("k2", "k1")).decrypt(stored, field=EMAIL)


def test_rotation_primitive_keeps_old_values_readable() -> None:
    old = FieldCipher(_ring("k1"))
    stored = old.encrypt("jane@example.com", field=EMAIL)
    new = FieldCipher(old.ring.with_new_key())
    assert new.current_key_id == "k2"
    assert list(new.ring.keys) == ["k2", "k1"]
    assert not new.is_current(stored)
    assert new.key_id_of(stored) == "k1"
    assert new.decrypt(stored, field=EMAIL) == "jane@example.com"
    rotated = new.reencrypt(stored, field=EMAIL)
    assert new.is_current(rotated)
    assert new.key_id_of(rotated) == "k2"
    assert new.reencrypt(rotated, field=EMAIL) is rotated  # already current: no new write
    with pytest.raises(UnknownKeyError):
        old.decrypt(rotated, field=EMAIL)
    with pytest.raises(KeyConfigurationError, match="already in the ring"):
        new.ring.with_new_key("k1")


# --- key configuration ----------------------------------------------------------


def test_a_key_ring_is_read_from_entries_and_never_shown() -> None:
    first, second = new_key(), base64.b64encode(os.urandom(32)).decode()  # urlsafe or standard
    ring = KeyRing.parse(f"# rotated in March\nk2:{first}\n  k1:{second.rstrip('=')} # old\n")
    assert ring.current_id == "k2"
    assert list(ring.keys) == ["k2", "k1"]
    assert ring.keys["k1"] == base64.b64decode(second)
    assert KeyRing.parse(ring.dump()).keys == ring.keys
    assert first not in repr(ring)
    assert first not in str(FieldCrypto(FieldCipher(ring), BlindIndex(os.urandom(32))))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "holds no key"),
        ("  # only a comment", "holds no key"),
        ("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=", "entry 1 is not id:base64key"),
        ("key one:" + "A" * 43, "entry 1 is not id:base64key"),
        ("k1:" + "A" * 43 + ",k!:" + "A" * 43, "entry 2 is not id:base64key"),
        ("k1:" + "A" * 43 + " k1:" + "B" * 43, "'k1' appears twice"),
        ("k1:not*base64*at*all!!", "not base64"),
        ("k1:" + base64.b64encode(b"sixteen bytes!!!").decode(), "16 bytes; a key is 32"),
    ],
)
def test_a_bad_key_ring_gives_a_clear_error(value: str, message: str) -> None:
    with pytest.raises(KeyConfigurationError, match=message) as error:
        KeyRing.parse(value)
    assert "A" * 20 not in str(error.value)
    assert error.value.code == "bad_encryption_key"


def test_bad_environment_settings_give_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    key = new_key()
    monkeypatch.setenv("AMIGO_ENCRYPTION_KEY", f"k1:{key[:-4]}")
    monkeypatch.setenv("AMIGO_ENCRYPTION_INDEX_KEY", new_key())
    with pytest.raises(KeyConfigurationError, match="AMIGO_ENCRYPTION_KEY: key 'k1' decodes to"):
        crypto_from_settings(EncryptionSettings())
    monkeypatch.delenv("AMIGO_ENCRYPTION_INDEX_KEY")
    monkeypatch.setenv("AMIGO_ENCRYPTION_KEY", f"k1:{key}")
    with pytest.raises(KeyConfigurationError, match=r"set AMIGO_ENCRYPTION_KEY and .* together"):
        crypto_from_settings(EncryptionSettings())
    monkeypatch.setenv("AMIGO_ENCRYPTION_INDEX_KEY", "short")
    with pytest.raises(KeyConfigurationError, match="AMIGO_ENCRYPTION_INDEX_KEY"):
        crypto_from_settings(EncryptionSettings())
    monkeypatch.setenv("AMIGO_ENCRYPTION_INDEX_KEY", new_key())
    assert crypto_from_settings(EncryptionSettings()).cipher.current_key_id == "k1"
    assert list(tmp_path.iterdir()) == []  # configured keys: no key file written


def test_key_files_are_created_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    settings = EncryptionSettings(
        key_file=tmp_path / "keys" / "amigo-encryption.key",
        index_key_file=tmp_path / "keys" / "amigo-index.key",
    )
    previous = os.umask(0)  # even a permissive umask must not widen them
    try:
        first = crypto_from_settings(settings)
    finally:
        os.umask(previous)
    for path in (settings.key_file, settings.index_key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "amigo-encryption.key",
        "amigo-index.key",
    ]  # no temporary file left behind
    again = crypto_from_settings(settings)
    assert again.cipher.ring.keys == first.cipher.ring.keys
    stored = first.cipher.encrypt("jane@example.com", field=EMAIL)
    assert again.cipher.decrypt(stored, field=EMAIL) == "jane@example.com"
    assert again.index.compute("jane@example.com", field="email") == first.index.compute(
        "jane@example.com", field="email"
    )
    settings.key_file.write_text("k1:tooshort\n", encoding="ascii")
    with pytest.raises(KeyConfigurationError, match=r"amigo-encryption.key: key 'k1'"):
        crypto_from_settings(settings)


def test_an_unreadable_key_file_gives_a_clear_error(tmp_path: Path) -> None:
    settings = EncryptionSettings(key_file=tmp_path, index_key_file=tmp_path / "index.key")
    with pytest.raises(KeyConfigurationError, match="cannot read the encryption key file"):
        crypto_from_settings(settings)


# --- blind indexes ----------------------------------------------------------------


def test_blind_index_equality_and_inequality() -> None:
    index = BlindIndex(os.urandom(32))
    value = index.compute("jane.doe@example.com", field="email")
    assert len(value) == 22  # 16 bytes, base64url
    assert index.compute("  Jane.Doe@Example.COM ", field="email") == value
    assert index.compute("jane.doe@example.org", field="email") != value
    assert index.compute("jane.doe@example.com", field="phone") != value  # per-field keys
    assert index.compute("Zoe\u0308@example.com", field="email") == index.compute(
        "Zoë@example.com", field="email"
    )  # NFC
    assert index.compute_optional(None, field="email") is None
    assert index.compute_optional("  ", field="email") is None
    assert len({index.compute(f"p{n}@example.com", field="email") for n in range(10_000)}) == 10_000


def test_blind_index_is_independent_of_the_encryption_keys() -> None:
    index_key = os.urandom(32)
    ring = _ring("k1")
    before = FieldCrypto(FieldCipher(ring), BlindIndex(index_key))
    rotated = FieldCrypto(FieldCipher(ring.with_new_key()), BlindIndex(index_key))
    email = "jane.doe@example.com"
    assert before.index.compute(email, field="email") == rotated.index.compute(email, field="email")
    assert BlindIndex(os.urandom(32)).compute(email, field="email") != before.index.compute(
        email, field="email"
    )
    # Neither the HMAC under an encryption key nor under the index key itself.
    digest = before.index.compute(email, field="email")
    for key in (ring.keys["k1"], index_key):
        plain = hmac.digest(key, email.encode(), "sha256")[:16]
        assert base64.b64encode(plain).decode().rstrip("=") != digest


def test_blind_index_is_hmac_sha256_under_the_fields_derived_key() -> None:
    root = os.urandom(32)
    index = BlindIndex(root)
    field_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"amigo/v1/blind-index/email"
    ).derive(root)
    for value in ["jane.doe@example.com", "", "ü" * 100]:
        expected = hmac.digest(field_key, value.encode(), "sha256")
        assert index.digest(value, field="email") == expected
        assert index.compute(value, field="email") == (
            base64.b64encode(expected[:16]).decode().rstrip("=")
        )


# --- the column type --------------------------------------------------------------


def test_encrypted_columns_refuse_comparisons_but_not_null_tests(crypto: FieldCrypto) -> None:
    for compare in (
        lambda: people.c.email == "jane@example.com",
        lambda: people.c.email != "jane@example.com",
        lambda: people.c.email.in_(["jane@example.com"]),
        lambda: people.c.email.like("jane%"),
        lambda: people.c.birth_date > date(2000, 1, 1),
        lambda: "jane@example.com" == people.c.email,  # noqa: SIM300 - the reversed form
    ):
        with pytest.raises(TypeError, match="encrypted: compare its blind index"):
            compare()
    str(select(people.c.id).where(people.c.email.is_(None), people.c.phone != None))  # noqa: E711
    assert encrypted_columns(people) == {
        "email": EMAIL,
        "phone": "crypto_test_person.phone",
        "birth_date": "crypto_test_person.birth_date",
    }


def test_encrypted_columns_round_trip_in_the_database(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    rows = [_person(n, crypto.index) for n in range(1, 51)]
    with engine.begin() as connection:
        connection.execute(people.insert(), rows[:25])
        bulk_insert(connection, people, rows[25:])  # the loader's fast path
        connection.execute(people.insert(), {"id": 99, "email": None, "city": "Nowhere"})
    with engine.connect() as connection:
        read = [
            dict(r) for r in connection.execute(select(people).order_by(people.c.id)).mappings()
        ]
        stored = connection.execute(text("SELECT email, phone, birth_date FROM crypto_test_person"))
        raw = [tuple(r) for r in stored]
        looked_up = connection.execute(
            select(people.c.id).where(
                people.c.email_index
                == crypto.index.compute("PERSON.00042@example.org", field="email")
            )
        ).scalar_one()
    assert read[:50] == rows
    assert read[50]["email"] is None
    assert read[50]["birth_date"] is None
    assert looked_up == 42
    assert all(v.startswith("v1.k1.") for row in raw[:50] for v in row)
    assert raw[50] == (None, None, None)


def test_a_ciphertext_moved_to_another_column_is_detected(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    with engine.begin() as connection:
        connection.execute(people.insert(), [_person(1, crypto.index)])
        connection.execute(text("UPDATE crypto_test_person SET phone = email"))
    with engine.connect() as connection:
        assert connection.execute(select(people.c.email)).scalar_one() == "person.00001@example.org"
        with pytest.raises(TamperedValueError, match=r"crypto_test_person\.phone fails"):
            connection.execute(select(people.c.phone)).scalar_one()


def test_rotation_reencrypts_every_value_in_batches(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    rows = [_person(n, crypto.index) for n in range(1, 251)]
    rows[7]["phone"] = None  # a NULL stays NULL
    with engine.begin() as connection:
        connection.execute(people.insert(), rows)
    new = FieldCrypto(FieldCipher(crypto.cipher.ring.with_new_key()), crypto.index)
    with using_crypto(new):
        with engine.connect() as connection:  # old values read under the new ring
            assert connection.execute(select(people.c.email).where(people.c.id == 3)).scalar() == (
                "person.00003@example.org"
            )
        assert count_stale(engine, people) == 3 * 250 - 1
        seen: list[int] = []
        stats = reencrypt_table(
            engine, people, batch_size=40, on_batch=lambda s: seen.append(s.rows)
        )
        assert (stats.rows, stats.values, stats.batches) == (250, 3 * 250 - 1, 7)
        assert (stats.conflicts, stats.remaining, stats.passes) == (0, 0, 1)
        assert seen == [40, 80, 120, 160, 200, 240, 250]
        again = reencrypt_table(engine, people, batch_size=40)
        assert (again.rows, again.values, again.batches) == (0, 0, 0)
    only_new = KeyRing(current_id="k2", keys={"k2": new.cipher.ring.keys["k2"]})
    with using_crypto(FieldCrypto(FieldCipher(only_new), crypto.index)), engine.connect() as c:
        read = [dict(r) for r in c.execute(select(people).order_by(people.c.id)).mappings()]
        raw = c.execute(text("SELECT email, phone, birth_date FROM crypto_test_person")).all()
    assert read == rows  # readable without the old key: everything is under k2
    assert all(v is None or v.startswith("v1.k2.") for row in raw for v in row)


def test_rotation_leaves_a_concurrent_write_as_written(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    with engine.begin() as connection:
        connection.execute(people.insert(), [_person(n, crypto.index) for n in range(1, 11)])
    old = crypto.cipher
    new = FieldCipher(old.ring.with_new_key())
    real_reencrypt = new.reencrypt
    interfered: list[int] = []

    def reencrypt_with_interference(stored: str, *, field: str) -> str:
        # Between the batch's read and its write, a process still on the old
        # ring (not yet restarted) rewrites row 5: its write must survive,
        # and a second pass must bring it under the new key.
        if not interfered:
            interfered.append(5)
            with using_crypto(FieldCrypto(old, crypto.index)), engine.begin() as connection:
                connection.execute(
                    update(people).where(people.c.id == 5).values(email="new.5@example.org")
                )
        return real_reencrypt(stored, field=field)

    new.reencrypt = reencrypt_with_interference  # type: ignore[method-assign]
    with using_crypto(FieldCrypto(new, crypto.index)):
        stats = reencrypt_table(engine, people, batch_size=100)
        assert (stats.conflicts, stats.passes, stats.remaining) == (1, 2, 0)
        with engine.connect() as connection:
            email = connection.execute(select(people.c.email).where(people.c.id == 5)).scalar()
    assert email == "new.5@example.org"


def test_rotation_needs_a_single_column_key_and_skips_plain_tables(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    pairs = Table(
        "crypto_test_pair",
        MetaData(),
        Column("a", Integer, primary_key=True),
        Column("b", Integer, primary_key=True),
        Column("secret", EncryptedText("crypto_test_pair.secret")),
    )
    with pytest.raises(ValueError, match="single-column primary key"):
        reencrypt_table(engine, pairs)
    plain = Table("crypto_test_plain", MetaData(), Column("id", Integer, primary_key=True))
    stats = reencrypt_table(engine, plain)
    assert (stats.columns, stats.passes, stats.rows) == ((), 0, 0)
    assert count_stale(engine, plain) == 0


def test_a_rotation_adds_a_key_to_the_file_and_a_serving_process_follows(
    people_engine: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, _ = people_engine
    settings = EncryptionSettings(
        key_file=tmp_path / "amigo-encryption.key", index_key_file=tmp_path / "amigo-index.key"
    )
    serving = crypto_from_settings(settings)  # the API process, started before the rotation
    rows = [_person(n, serving.index) for n in range(1, 31)]
    with using_crypto(serving), engine.begin() as connection:
        connection.execute(people.insert(), rows)
    assert encrypted_tables(metadata) == [people]
    with using_crypto(crypto_from_settings(settings)):  # `amigo keys rotate`, another process
        report = rotate_keys(engine=engine, metadata=metadata, new_key=True, batch_size=7)
        assert (report.key_id, report.added, report.remaining) == ("k2", True, 0)
        assert report.tables[0].values == 3 * 30
        assert current_crypto().cipher.current_key_id == "k2"
        again = rotate_keys(engine=engine, metadata=metadata, new_key=True)
        assert (again.key_id, again.tables[0].values) == ("k3", 3 * 30)
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    ring = KeyRing.parse(settings.key_file.read_text(encoding="ascii"))
    assert list(ring.keys) == ["k3", "k2", "k1"]
    assert ring.keys["k1"] == serving.cipher.ring.keys["k1"]
    # The serving process meets a k3 value, reloads the file, and encrypts under k3 from then on.
    with using_crypto(serving), engine.begin() as connection:
        read = [
            dict(r) for r in connection.execute(select(people).order_by(people.c.id)).mappings()
        ]
        assert current_crypto().cipher.current_key_id == "k3"
        connection.execute(update(people).where(people.c.id == 1).values(email="new@example.org"))
        stored = connection.execute(text("SELECT email FROM crypto_test_person WHERE id = 1"))
        assert str(stored.scalar_one()).startswith("v1.k3.")
    assert read == rows
    from_environment = FieldCrypto(FieldCipher(_ring("k1")), BlindIndex(os.urandom(32)))
    with (
        using_crypto(from_environment),
        pytest.raises(KeyConfigurationError, match="come from AMIGO_ENCRYPTION_KEY"),
    ):
        rotate_keys(engine=engine, metadata=metadata, new_key=True)


def test_an_unknown_key_without_a_changed_file_still_fails(
    people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _ = people_engine
    stranger = FieldCipher(_ring("k9")).encrypt("x@example.org", field=EMAIL)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO crypto_test_person (id, email) VALUES (1, :e)"), {"e": stranger}
        )
        with pytest.raises(UnknownKeyError, match="key 'k9'"):
            connection.execute(select(people.c.email)).scalar()


# --- nothing in clear on disk -------------------------------------------------------


def test_a_raw_dump_holds_no_plaintext_identifier(
    backend: str, people_engine: tuple[Engine, str], crypto: FieldCrypto
) -> None:
    engine, _url = people_engine
    rows = [_person(n, crypto.index) for n in range(1, 201)]
    with engine.begin() as connection:
        bulk_insert(connection, people, rows[:100])
        connection.execute(people.insert(), rows[100:])
    with engine.connect() as connection:  # read back (decrypting) before the dump
        assert connection.execute(select(people.c.phone).where(people.c.id == 200)).scalar() == (
            "+33600000200"
        )
    dump = raw_dump(engine)
    assert b"Lyonville-00123" in dump  # the dump does show the unencrypted column
    assert b"v1.k1." in dump
    for row in rows:
        for secret in (row["email"], row["phone"], row["phone"][1:], row["email"].split("@")[0]):
            assert secret.encode() not in dump, secret
    assert b"@example.org" not in dump
    assert b"1970-01-" not in dump  # the birth dates


def test_the_process_wide_crypto_is_built_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(
        encryption=EncryptionSettings(
            key=SecretStr(f"k7:{new_key()}"), index_key=SecretStr(new_key())
        )
    )
    monkeypatch.setattr("amigo.core.crypto.get_settings", lambda: settings)
    monkeypatch.setattr("amigo.core.crypto._configured", None)
    assert current_crypto().cipher.current_key_id == "k7"
    assert current_crypto() is current_crypto()

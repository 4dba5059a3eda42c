"""A database refuses keys other than those it was written with, before any read or write."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select, text

import amigo.models  # noqa: F401 - registers every table
from amigo.core.config import EncryptionSettings
from amigo.core.crypto import FieldCrypto, crypto_from_settings, current_crypto, using_crypto
from amigo.core.db import Base
from amigo.core.keycheck import KeyMismatchError, key_checks, recorded_checks
from amigo.core.rotation import rotate_keys
from amigo.ingest.service import load_directory
from amigo.profiles.models import GoldenCustomer
from amigo.synth import generate


def _keys_in(directory: Path) -> FieldCrypto:
    """Return the embedded mode's keys of a directory, made there on first use."""
    directory.mkdir(parents=True, exist_ok=True)
    return crypto_from_settings(
        EncryptionSettings(
            key_file=directory / "amigo-encryption.key",
            index_key_file=directory / "amigo-index.key",
        )
    )


def _amigo(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMIGO_")}
    return subprocess.run(
        [sys.executable, "-m", "amigo.cli", *args],
        env={**clean, "AMIGO_DATABASE_URL": url, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


def _profiles(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(GoldenCustomer)) or 0)


def test_the_first_keys_are_recorded_and_other_keys_are_refused_naming_their_file(
    fresh_database_url: str, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    ours, theirs = _keys_in(tmp_path / "ours"), _keys_in(tmp_path / "theirs")
    with using_crypto(ours), open_engine(fresh_database_url).connect() as connection:
        assert recorded_checks(connection) == ours.check_values()

    with using_crypto(theirs), pytest.raises(KeyMismatchError) as refused:
        open_engine(fresh_database_url).connect()

    message = str(refused.value)
    assert str(tmp_path / "theirs" / "amigo-encryption.key") in message
    assert "key 'k1' and the blind index key differ" in message
    assert "AMIGO_ENCRYPTION_KEY_FILE" in message
    with using_crypto(ours), open_engine(fresh_database_url).connect() as connection:
        assert recorded_checks(connection) == ours.check_values()  # theirs recorded nothing


def test_a_command_run_from_another_directory_is_refused_and_makes_no_key(
    fresh_database_url: str, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    home, elsewhere, stranger = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "stranger"
    for directory in (home, elsewhere):
        directory.mkdir()
    _keys_in(stranger)  # a directory with key files of its own
    generate(customers=30, seed=5, out_dir=home / "export")
    loaded = _amigo("load", "export", cwd=home, url=fresh_database_url)
    assert loaded.returncode == 0, loaded.stderr
    with using_crypto(_keys_in(home)), open_engine(fresh_database_url).connect() as connection:
        reference = connection.scalar(select(GoldenCustomer.external_id).limit(1))
    assert reference is not None

    shown = _amigo("customer", "show", reference, cwd=home, url=fresh_database_url)
    assert shown.returncode == 0, shown.stderr
    without_keys = _amigo("customer", "show", reference, cwd=elsewhere, url=fresh_database_url)
    other_keys = _amigo("load", str(home / "export"), cwd=stranger, url=fresh_database_url)

    assert without_keys.returncode == 2
    assert without_keys.stderr.strip().startswith(
        f"error: this database is written with encryption keys, and there is no "
        f"{elsewhere / 'amigo-encryption.key'}"
    )
    assert "Traceback" not in without_keys.stderr
    assert list(elsewhere.iterdir()) == [], "no key file made where the command ran"
    assert other_keys.returncode == 2
    assert f"({stranger / 'amigo-encryption.key'}) are not those" in other_keys.stderr
    status = _amigo("db", "status", cwd=home, url=fresh_database_url)
    assert f"keys k1 and the index key, from {home / 'amigo-encryption.key'}" in " ".join(
        status.stdout.split()
    )
    again = _amigo("customer", "show", reference, cwd=home, url=fresh_database_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout == shown.stdout, "the refused load wrote nothing"


def test_a_rotation_records_its_new_key_and_a_ring_with_another_one_is_refused(
    fresh_database_url: str, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    ours, theirs = _keys_in(tmp_path / "ours"), _keys_in(tmp_path / "theirs")
    engine = open_engine(fresh_database_url)
    with using_crypto(ours):
        report = rotate_keys(engine=engine, metadata=Base.metadata, new_key=True)
        rotated = _keys_in(tmp_path / "ours")  # the key file as the rotation left it
        with engine.connect() as connection:
            recorded = recorded_checks(connection)
    assert report.key_id == "k2"
    assert recorded == rotated.check_values()
    assert recorded["field", "k1"] == ours.check_values()["field", "k1"]

    with using_crypto(ours), open_engine(fresh_database_url).connect():
        pass  # a process still holding k1 alone is not refused: k1 is the database's
    # Another directory's ring, rotated to a k2 of its own, next to our k1: refused on k2.
    mixed = tmp_path / "theirs" / "amigo-encryption.key"
    ours_k1 = (tmp_path / "ours" / "amigo-encryption.key").read_text().splitlines()[-1]
    theirs_k1 = theirs.cipher.ring.dump().splitlines()[0].replace("k1:", "k2:")
    mixed.write_text(f"{theirs_k1}\n{ours_k1}\n", encoding="ascii")
    with (
        using_crypto(_keys_in(tmp_path / "theirs")),
        pytest.raises(KeyMismatchError, match="key 'k2' and the blind index key differ"),
    ):
        open_engine(fresh_database_url).connect()


def test_a_database_written_before_its_keys_were_recorded_records_only_keys_that_open_it(
    fresh_database_url: str, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    generate(customers=20, seed=9, out_dir=tmp_path / "export")
    engine = open_engine(fresh_database_url)
    load_directory(engine=engine, directory=tmp_path / "export")  # under this process's keys
    with engine.begin() as connection:
        connection.execute(delete(key_checks))  # as before revision 0017
    assert _profiles(engine) > 0

    with (
        using_crypto(_keys_in(tmp_path / "theirs")),
        pytest.raises(KeyMismatchError, match="key 'k1' differs"),
    ):
        open_engine(fresh_database_url).connect()
    with open_engine(fresh_database_url).connect() as connection:
        assert recorded_checks(connection) == current_crypto().check_values()


def test_an_upgrade_from_another_directory_of_a_database_older_than_its_key_check_makes_no_key(
    fresh_database_url: str, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    generate(customers=20, seed=4, out_dir=tmp_path / "export")
    with using_crypto(_keys_in(home)):
        engine = open_engine(fresh_database_url)
        load_directory(engine=engine, directory=tmp_path / "export")
        with engine.begin() as connection:  # as before revision 0017: no check table
            connection.execute(text("DROP TABLE encryption_key_check"))
            connection.execute(text("UPDATE alembic_version SET version_num = '0016'"))
        engine.dispose()

    refused = _amigo("db", "upgrade", cwd=elsewhere, url=fresh_database_url)

    assert refused.returncode == 2
    assert refused.stderr.strip().startswith(
        "error: this database is written with encryption keys, and there is no "
        f"{elsewhere / 'amigo-encryption.key'}"
    )
    assert "Traceback" not in refused.stderr
    assert list(elsewhere.iterdir()) == [], "no key file made where the upgrade ran"
    with open_engine(fresh_database_url).connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == "0016", "nothing migrated"

    upgraded = _amigo("db", "upgrade", cwd=home, url=fresh_database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    home_keys = _keys_in(home)
    with using_crypto(home_keys), open_engine(fresh_database_url).connect() as connection:
        assert recorded_checks(connection) == home_keys.check_values()


def test_check_values_tell_keys_apart_and_hold_nothing_of_them(tmp_path: Path) -> None:
    one, two = _keys_in(tmp_path / "one"), _keys_in(tmp_path / "two")
    again = _keys_in(tmp_path / "one")

    assert one.check_values() == again.check_values()
    assert set(one.check_values().values()).isdisjoint(two.check_values().values())
    key_text = (tmp_path / "one" / "amigo-encryption.key").read_text()
    index_text = (tmp_path / "one" / "amigo-index.key").read_text()
    for value in one.check_values().values():
        assert value not in key_text
        assert value not in index_text

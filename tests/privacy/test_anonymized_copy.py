"""The anonymized copy on real databases: nobody recognisable, and the repository's shape kept."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import Engine, func, select, text

import amigo.models  # noqa: F401 - registers every table
from amigo.core.crypto import FieldCrypto, using_crypto
from amigo.core.db import Base, unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.core.keycheck import KeyMismatchError, key_checks, recorded_checks
from amigo.identity.service import merge_profiles
from amigo.ingest.service import load_directory
from amigo.privacy.anonymized_copy import Pseudonyms, copy_anonymized, copy_keys
from amigo.profiles.models import GoldenCustomer, Order
from amigo.profiles.service import find_customers
from privacy.people import CEGID_ID, FORM_ID, IDENTIFYING, SHOPIFY_ID, scan, write_person_export

# The copy keeps towns and postal codes on purpose (distributions): the rest must go.
NEEDLES = IDENTIFYING


class Copied(NamedTuple):
    source: Engine
    target: Engine
    counts: dict[str, int]
    crypto: FieldCrypto  # the test environment's keys, which the copy is encrypted under


@pytest.fixture
def copied(
    tmp_path: Path,
    fresh_database_url: str,
    make_database_url: Callable[[], str],
    open_engine: Callable[[str], Engine],
) -> Copied:
    source = open_engine(fresh_database_url)
    load_directory(engine=source, directory=write_person_export(tmp_path / "export"))
    with unit_of_work(source) as session:
        ids = [
            find_customers(session=session, reference=r)[0].id
            for r in (f"cegid:{CEGID_ID}", f"shopify:{SHOPIFY_ID}", f"webforms:{FORM_ID}")
        ]
        for merged in ids[1:]:  # one merged into a profile with a lower id, one not
            merge_profiles(session=session, survivor_id=ids[0], merged_id=merged, actor="t")
    target = open_engine(make_database_url())  # migrated and empty
    crypto = copy_keys(tmp_path / "test-env")
    counts = copy_anonymized(source=source, target=target, target_crypto=crypto, batch_size=50)
    return Copied(source, target, counts, crypto)


def _rows(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)  # noqa: S608


def test_the_copy_holds_none_of_the_persons_names_emails_phones_or_street(
    copied: Copied,
) -> None:
    source, target, _counts, crypto = copied

    assert scan(source, NEEDLES), "she is in the repository"
    with using_crypto(crypto):
        assert scan(target, NEEDLES) == []


def test_the_copy_keeps_every_row_and_every_reference(
    copied: Copied,
) -> None:
    source, target, counts, crypto = copied

    for table in Base.metadata.sorted_tables:
        if table is key_checks:  # each database records its own keys
            continue
        assert _rows(target, table.name) == _rows(source, table.name) == counts[table.name]
    with source.connect() as a, target.connect() as b, using_crypto(crypto):
        for query in (
            select(Order.id, Order.customer_id, Order.customer_link_id, Order.total_cents),
            select(GoldenCustomer.id, GoldenCustomer.status, GoldenCustomer.merged_into_id),
        ):
            assert (
                a.execute(query.order_by(text("1"))).all()
                == b.execute(query.order_by(text("1"))).all()
            )


def test_the_copy_opens_with_its_own_keys_and_refuses_the_repositorys(
    copied: Copied, open_engine: Callable[[str], Engine]
) -> None:
    _source, target, _counts, crypto = copied
    url = target.url.render_as_string(hide_password=False)

    with pytest.raises(KeyMismatchError, match="not those this database was written with"):
        open_engine(url).connect()  # this process's keys: the repository's
    with using_crypto(crypto), open_engine(url).connect() as connection:
        assert recorded_checks(connection) == crypto.check_values()
        emails = connection.scalars(select(GoldenCustomer.email)).all()
    assert any(email for email in emails)


def test_the_copy_keeps_the_distributions_a_test_environment_needs(
    copied: Copied,
) -> None:
    source, target, _counts, crypto = copied
    emails = select(GoldenCustomer.email).where(GoldenCustomer.email.is_not(None))
    births = select(GoldenCustomer.birth_date).where(GoldenCustomer.birth_date.is_not(None))
    with source.connect() as a, target.connect() as b:
        before = [e for e in a.scalars(emails) if e is not None]
        born_before = [d for d in a.scalars(births) if d is not None]
        with using_crypto(crypto):
            after = [e for e in b.scalars(emails) if e is not None]
            born_after = [d for d in b.scalars(births) if d is not None]
        same_person = b.execute(
            text(
                "SELECT count(*) FROM golden_customer g JOIN identity_link l ON l.customer_id = g.id "
                "WHERE g.email_index = l.email_index"
            )
        ).scalar_one()
        same_in_source = a.execute(
            text(
                "SELECT count(*) FROM golden_customer g JOIN identity_link l ON l.customer_id = g.id "
                "WHERE g.email_index = l.email_index"
            )
        ).scalar_one()

    assert not set(before) & set(after)
    assert Counter(e.rpartition("@")[2] for e in before) == Counter(
        e.rpartition("@")[2] for e in after
    )
    assert len(set(after)) == len(set(before))  # duplicates still look like duplicates
    assert same_person == same_in_source
    shifts = [(b - a).days for a, b in zip(sorted(born_before), sorted(born_after), strict=True)]
    assert max(abs(d) for d in shifts) <= 45 + 45
    assert (
        abs(
            statistics.mean(d.toordinal() for d in born_after)
            - statistics.mean(d.toordinal() for d in born_before)
        )
        < 30
    )


def test_the_same_value_gets_the_same_pseudonym_and_phones_keep_their_shape() -> None:
    pseudonyms = Pseudonyms(b"k" * 32)

    assert pseudonyms.email("Zephyrine.Q@Gmail.com") == pseudonyms.email("zephyrine.q@gmail.com")
    assert pseudonyms.email("a@b.fr").endswith("@b.fr")
    assert pseudonyms.phone("06 98 76 54 32")[:3] == "06 "
    assert len(pseudonyms.phone("+33698765432")) == 12
    assert pseudonyms.phone("+33698765432").startswith("+336")
    assert (
        pseudonyms.walk({"customer": {"first_name": "Zéphyrine", "name": "Zéphyrine Q"}})[
            "customer"
        ]["first_name"]
        != "Zéphyrine"
    )
    assert pseudonyms.walk({"line_items": [{"name": "Coat"}]}) == {"line_items": [{"name": "Coat"}]}


def test_a_copy_into_the_repository_itself_or_a_filled_database_is_refused(
    copied: Copied,
) -> None:
    source, target, _counts, crypto = copied
    rows = _rows(target, "golden_customer")

    with pytest.raises(InvalidInputError, match="another database"):
        copy_anonymized(source=source, target=source, target_crypto=crypto)
    with pytest.raises(InvalidInputError, match="not empty"):
        copy_anonymized(source=source, target=target, target_crypto=crypto)
    assert _rows(target, "golden_customer") == rows
    with target.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Order)) == _rows(
            source, "customer_order"
        )

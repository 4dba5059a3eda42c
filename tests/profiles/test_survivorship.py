"""Survivorship picks each golden value by source priority, recency, then completeness."""

from __future__ import annotations

from datetime import UTC, datetime

from amigo.ingest.facts import CustomerFacts
from amigo.profiles.survivorship import Candidate, derive_profile

EARLY = datetime(2024, 1, 1, tzinfo=UTC)
LATE = datetime(2025, 6, 1, tzinfo=UTC)


def _facts(system: str, **values: object) -> CustomerFacts:
    origin = {"cegid": "retail", "shopify": "e-commerce", "webforms": "web form"}[system]
    return CustomerFacts(source_system=system, source_id=f"{system}-1", origin=origin, **values)  # type: ignore[arg-type]


def test_cegid_beats_a_more_recent_shopify_value() -> None:
    store = Candidate(_facts("cegid", email="a@shop.fr", observed_at=EARLY), record_id=1)
    web = Candidate(_facts("shopify", email="b@shop.fr", observed_at=LATE), record_id=2)

    derived = derive_profile([web, store])

    assert derived.values["email"] == "a@shop.fr"
    assert derived.lineage["email"]["source"] == "cegid"


def test_within_one_source_the_most_recent_record_wins() -> None:
    older = Candidate(_facts("shopify", phone="+33611111111", observed_at=EARLY), record_id=1)
    newer = Candidate(_facts("shopify", phone="+33622222222", observed_at=LATE), record_id=2)

    assert derive_profile([older, newer]).values["phone"] == "+33622222222"


def test_a_missing_value_does_not_hide_a_lower_priority_one() -> None:
    store = Candidate(_facts("cegid", last_name="Dupont"), record_id=1)
    form = Candidate(
        _facts("webforms", last_name="Dupont", birth_date=None, city="Lyon"), record_id=2
    )

    derived = derive_profile([store, form])

    assert derived.values["city"] == "Lyon"
    assert derived.lineage["address"]["source"] == "webforms"


def test_the_address_is_taken_as_one_block() -> None:
    full = Candidate(
        _facts("shopify", address_line1="1 rue de Rivoli", postal_code="75001", city="Paris"),
        record_id=1,
    )
    partial = Candidate(_facts("shopify", city="Lyon"), record_id=2)

    derived = derive_profile([partial, full])

    assert (derived.values["address_line1"], derived.values["city"]) == ("1 rue de Rivoli", "Paris")


def test_origin_is_the_earliest_created_record() -> None:
    store = Candidate(_facts("cegid", created_at=LATE), record_id=1)
    form = Candidate(_facts("webforms", created_at=EARLY), record_id=2)

    assert derive_profile([store, form]).values["origin"] == "web form"


def test_one_record_and_the_general_path_agree() -> None:
    facts = _facts(
        "cegid", email="x@y.fr", email_match_key="x@y.fr", city="Paris", observed_at=EARLY
    )
    alone = derive_profile([Candidate(facts, record_id=7)])
    # The same record twice goes through the general path.
    general = derive_profile([Candidate(facts, record_id=7), Candidate(facts, record_id=7)])

    assert alone.values == general.values
    assert alone.lineage == general.lineage

"""Survivorship picks each golden value by source priority, recency, then completeness."""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from amigo.ingest.facts import CustomerFacts
from amigo.profiles.survivorship import SOURCE_PRIORITY, Candidate, derive_profile

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


def test_at_the_same_source_and_time_the_most_complete_value_wins() -> None:
    short = Candidate(_facts("shopify", first_name="J", observed_at=LATE), record_id=2)
    full = Candidate(_facts("shopify", first_name="Jean", observed_at=LATE), record_id=1)
    older = Candidate(_facts("shopify", first_name="Jean-Pierre", observed_at=EARLY), record_id=3)

    derived = derive_profile([short, older, full])

    assert derived.values["first_name"] == "Jean"
    assert derived.lineage["first_name"]["record"] == 1


_SYSTEMS = st.sampled_from(["cegid", "shopify", "webforms"])
_WHEN = st.sampled_from([None, EARLY, LATE])
_NAMES = st.sampled_from([None, "Li", "Lea", "Léa", "Leane"])


@given(
    st.lists(
        st.tuples(_SYSTEMS, _WHEN, _NAMES, _NAMES, st.sampled_from([None, "a@b.fr", "lea@b.fr"])),
        min_size=2,
        max_size=5,
    ),
    st.randoms(use_true_random=False),
)
def test_each_value_is_the_best_by_the_documented_order_whatever_the_input_order(
    records: list[tuple[str, datetime | None, str | None, str | None, str | None]],
    shuffler: Random,
) -> None:
    candidates = [
        Candidate(
            _facts(system, observed_at=when, first_name=first, last_name=last, email=email),
            record_id=index + 1,
        )
        for index, (system, when, first, last, email) in enumerate(records)
    ]
    shuffled = list(candidates)
    shuffler.shuffle(shuffled)

    derived = derive_profile(shuffled)

    for field in ("first_name", "last_name", "email"):
        holding = [c for c in candidates if getattr(c.facts, field) is not None]
        expected = min(
            holding,
            key=lambda c: (
                SOURCE_PRIORITY[c.facts.source_system],
                -(c.facts.observed_at or datetime.min.replace(tzinfo=UTC)).timestamp(),
                -len(getattr(c.facts, field)),
                -c.record_id,
            ),
            default=None,
        )
        assert derived.values[field] == (getattr(expected.facts, field) if expected else None)
    assert derive_profile(candidates) == derived

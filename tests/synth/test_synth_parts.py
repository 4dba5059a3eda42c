"""The generator's building blocks: phones, noise functions, time formatting, schedules."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from rapidfuzz.distance import Levenshtein

from amigo.quality.emails import email_match_key
from amigo.synth.catalog import SEASONS, build_products, product_count, season_index_at
from amigo.synth.geo import COUNTRIES, convert_price
from amigo.synth.options import NoiseOptions
from amigo.synth.people import PersonFactory, PhoneNumbers
from amigo.synth.places import CITIES
from amigo.synth.records import email_typo, invalid_email, invalid_phone, typo
from amigo.synth.service import BadRows, poisson
from amigo.synth.timefmt import cegid_local, day_of, dmy_date, iso_local, iso_utc, local_instant


def ts(text: str) -> int:
    """Return the UTC instant of an ISO timestamp."""
    return int(datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize("code", sorted(COUNTRIES))
def test_phone_templates_have_one_slot_per_digit(code: str) -> None:
    plan = COUNTRIES[code].phone
    for template in (plan.national, *plan.variants):
        assert template.count("#") == plan.nsn_length, template


@pytest.mark.parametrize("code", sorted(COUNTRIES))
def test_generated_phones_are_valid_and_unique(code: str) -> None:
    plan = COUNTRIES[code].phone
    numbers = PhoneNumbers(random.Random(1))
    prefixes = [p for city in CITIES[code] for p in city.area_codes] or list(plan.mobile_prefixes)
    rng = random.Random(2)
    made = [
        numbers.next(code, rng.choice(prefixes), plan.nsn_length, plan.first_digits)
        for _ in range(3000)
    ]
    assert len(set(made)) == len(made)
    for nsn in made[:300]:
        for text in (plan.format_e164(nsn), plan.national_fmt.format(*nsn)):
            parsed = phonenumbers.parse(text, code)
            assert phonenumbers.is_valid_number(parsed), text
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == (
                plan.format_e164(nsn)
            )


def test_typos_are_small_edits() -> None:
    rng = random.Random(3)
    for word in ("Dupont", "Lefebvre", "Martin", "Nakamura", "Schmidt"):
        for _ in range(50):
            changed = typo(word, rng)
            assert 1 <= Levenshtein.distance(word, changed) <= 2
    mistyped = email_typo("jean.dupont@gmail.com", rng)
    assert mistyped != "jean.dupont@gmail.com"
    assert mistyped.count("@") == 1


def test_invalid_values_are_really_invalid() -> None:
    rng = random.Random(4)
    for _ in range(200):
        broken = invalid_email("camille.martin@orange.fr", rng)
        with pytest.raises(EmailNotValidError):
            validate_email(broken, check_deliverability=False)
    for _ in range(50):
        broken = invalid_phone("06 12 34 56 78", rng)
        parsed = None
        try:
            parsed = phonenumbers.parse(broken, "FR")
        except phonenumbers.NumberParseException:
            continue
        assert not phonenumbers.is_valid_number(parsed)


def test_people_follow_the_noise_rates() -> None:
    factory = PersonFactory(rng=random.Random(5), noise=NoiseOptions(namesake=0.1, household=0.1))
    people = [factory.make() for _ in range(3000)]
    kinds = {k: sum(p.kind == k for p in people) / len(people) for k in ("namesake", "household")}
    assert 0.07 < kinds["namesake"] < 0.13
    assert 0.07 < kinds["household"] < 0.13
    countries = [p.country.code for p in people]
    assert max(set(countries), key=countries.count) == "FR"
    emails = [p.email for p in people if p.kind != "household"]
    assert len(set(emails)) == len(emails)


def test_different_people_never_share_a_mailbox() -> None:
    # Gmail ignores dots and +tags: maurice.smith@ and mauricesmith@gmail.com are one
    # mailbox, which only a household shares, and then spelt as its first owner spells it.
    factory = PersonFactory(
        rng=random.Random(1), noise=NoiseOptions(household=0.05, second_email=0.3)
    )
    kinds: dict[str, str] = {}
    owners: dict[str, set[str]] = defaultdict(set)
    spellings: dict[str, set[str]] = defaultdict(set)
    for _ in range(5000):
        person = factory.make()
        kinds[person.person_id] = person.kind
        for email in (person.email, person.email2):
            if email:
                owners[email_match_key(email)].add(person.person_id)
                spellings[email_match_key(email)].add(email)
    assert sum(k.endswith("@gmail.com") for k in owners) > 1000  # the case that matters
    shared = [people for people in owners.values() if len(people) > 1]
    assert len(shared) > 50  # households do share on purpose
    for people in shared:
        assert sum(kinds[pid] != "household" for pid in people) <= 1, people
    assert all(len(spelt) == 1 for spelt in spellings.values())


def test_time_formats_follow_the_zone_rules() -> None:
    summer, winter = ts("2025-07-01T12:00:00+00:00"), ts("2025-01-15T12:00:00+00:00")
    assert iso_local(summer, "Europe/Paris") == "2025-07-01T14:00:00+02:00"
    assert iso_local(winter, "Europe/Paris") == "2025-01-15T13:00:00+01:00"
    assert iso_local(winter, "America/New_York") == "2025-01-15T07:00:00-05:00"
    assert iso_utc(winter) == "2025-01-15T12:00:00+00:00"
    assert cegid_local(summer, "Asia/Tokyo") == "01/07/2025 21:00:00"
    # The day DST starts in Paris: before and after 01:00 UTC.
    assert iso_local(ts("2025-03-30T00:30:00+00:00"), "Europe/Paris").endswith("01:30:00+01:00")
    assert iso_local(ts("2025-03-30T01:30:00+00:00"), "Europe/Paris").endswith("03:30:00+02:00")
    day = day_of(2025, 7, 1)
    assert dmy_date(day) == "01/07/2025"
    instant = local_instant(day, 15 * 3600, "Europe/London")
    assert datetime.fromtimestamp(instant, UTC).hour == 14


def test_poisson_and_bad_row_schedule_hit_their_means() -> None:
    rng = random.Random(6)
    draws = [poisson(rng, 2.9) for _ in range(20_000)]
    assert 2.8 < sum(draws) / len(draws) < 3.0
    assert poisson(rng, 0) == 0
    assert poisson(rng, 100) > 50
    bad = BadRows(random.Random(7))
    total = sum(bad.due("file", 10) for _ in range(20_000))
    assert 800 < total < 1200  # 0.5% of 200,000 rows
    early = BadRows(random.Random(8))
    assert sum(early.due("small") for _ in range(60)) >= 1


def test_catalog_scales_and_spans_the_seasons() -> None:
    assert product_count(1) == 200
    assert product_count(1_200_000) == 45_000
    products = build_products(random.Random(9), 1000)
    assert len(products) == 1000
    assert len({p.item_code for p in products}) == 1000
    assert {p.season for p in products} == set(SEASONS)
    assert season_index_at("2023-07-01") == 0
    assert season_index_at("2025-02-10") == SEASONS.index("SS25")
    assert season_index_at("2030-01-01") == len(SEASONS) - 1
    assert convert_price(590, "EUR") == 59_000
    assert convert_price(590, "JPY") % 1000 == 0

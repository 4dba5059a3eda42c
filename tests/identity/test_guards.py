"""Guards: namesakes and households are never merged automatically."""

from __future__ import annotations

from amigo.identity.guards import (
    BIRTH_DATE_CLOSE,
    BIRTH_DATE_CONFLICT,
    EMAIL_AND_PHONE_CONFLICT,
    FIRST_NAME_CONFLICT,
    SHARED_CONTACT_UNVERIFIED,
    is_hard,
    pair_conflicts,
)
from identity.identity_records import record


def test_a_namesake_with_another_birth_date_is_kept_apart_for_good() -> None:
    person = record("Jean", "Dupont", birth="1980-03-12", city="Paris")
    namesake = record("Jean", "Dupont", birth="1975-07-01", city="Paris")

    codes = pair_conflicts(person, namesake)

    assert codes == (BIRTH_DATE_CONFLICT,)
    assert is_hard(codes)


def test_a_birth_date_one_typo_away_only_asks_for_a_review() -> None:
    codes = pair_conflicts(record("Jean", birth="1980-03-12"), record("Jean", birth="1980-03-21"))

    assert codes == (BIRTH_DATE_CLOSE,)
    assert not is_hard(codes)


def test_a_namesake_with_other_email_and_phone_goes_to_review() -> None:
    a = record("Jean", "Dupont", email="jean.dupont@free.fr", phone="+33612345678")
    b = record("Jean", "Dupont", email="jdupont@orange.fr", phone="+33698765432")

    assert pair_conflicts(a, b) == (EMAIL_AND_PHONE_CONFLICT,)


def test_household_members_sharing_an_email_are_kept_apart_by_their_first_names() -> None:
    mother = record("Sylvie", "Martin", email="famille.martin@free.fr", street="4 rue Haute")
    son = record("Hugo", "Martin", email="famille.martin@free.fr", street="4 rue Haute")

    assert FIRST_NAME_CONFLICT in pair_conflicts(mother, son)


def test_a_shared_phone_with_no_first_name_on_one_side_cannot_be_verified() -> None:
    a = record("Sylvie", "Martin", email="sylvie@free.fr", phone="+33612345678")
    b = record(None, "Martin", email="martin.h@gmail.com", phone="+33612345678")

    assert pair_conflicts(a, b) == (SHARED_CONTACT_UNVERIFIED,)


def test_spellings_of_one_first_name_are_not_a_conflict() -> None:
    for a, b in [
        ("Jonathan", "Johnathan"),  # a typo
        ("J", "Jean"),  # an initial
        ("Jean", "Jean-Pierre"),  # the beginning of a compound name
        ("Hélène", "HELENE"),  # case and accents
        ("Jnu", "Jun"),  # two letters swapped
    ]:
        assert FIRST_NAME_CONFLICT not in pair_conflicts(record(a, "X"), record(b, "X")), (a, b)


def test_short_first_names_one_letter_apart_are_two_names() -> None:
    assert FIRST_NAME_CONFLICT in pair_conflicts(record("Jing", "Luo"), record("Ying", "Luo"))


def test_swapped_first_and_last_names_are_not_a_conflict() -> None:
    a = record("Matthieu", "Laurent", email="matthieu_laurent@gmail.com")
    b = record("Laurent", "Matthieu", email="matthieu_laurent@gmail.com")

    assert pair_conflicts(a, b) == ()


def test_a_household_member_typed_swapped_is_still_another_first_name() -> None:
    madeleine = record("Madeleine", "Marin", email="madeleine.marin74@sfr.fr")
    yves = record("Marin", "Yves", email="madeleine.marin74@sfr.fr")

    assert FIRST_NAME_CONFLICT in pair_conflicts(madeleine, yves)


def test_hangul_and_its_latin_spelling_are_one_first_name() -> None:
    native = record("지우", "김", country="KR")
    typed = record("Ji-woo", "Kim", country="FR")

    assert pair_conflicts(native, typed) == ()


def test_kanji_read_as_the_typed_name_verify_a_shared_phone() -> None:
    native = record("直子", "佐藤", email="naoko@docomo.ne.jp", phone="+819012345678", country="JP")
    typed = record("Naoko", "Sato", email="n.sato@gmail.com", phone="+819012345678", country="JP")

    assert native["first"] == typed["first"] == "naoko"
    assert pair_conflicts(native, typed) == ()


def test_another_reading_of_kanji_is_no_conflict_but_verifies_nothing() -> None:
    # 裕樹: the dictionary reads Hiroki; this Yuki types his name the other way.
    native = record("裕樹", "佐藤", email="yuki@docomo.ne.jp", phone="+819012345678", country="JP")
    typed = record("Yuki", "Sato", email="y.sato@gmail.com", phone="+819012345678", country="JP")

    assert pair_conflicts(native, typed) == (SHARED_CONTACT_UNVERIFIED,)


def test_kanji_without_a_reading_are_never_compared_with_latin_letters() -> None:
    native = record("龘", "佐藤", phone="+819012345678", country="JP")
    typed = record("Naoko", "Sato", phone="+819012345678", country="JP")

    assert native["first_kind"] == "native"
    assert FIRST_NAME_CONFLICT not in pair_conflicts(native, typed)


def test_an_unread_kanji_name_beside_a_japanese_one_is_read_too() -> None:
    # A household sharing a mailbox: the daughter's card says Japan, the father's
    # web form says nothing, so his name alone would not be read.
    daughter = record(
        "結衣", "山下", email="yui.yamashita@gmail.com", phone="+819080710769", country="JP"
    )
    father = record("陽一", "山下", email="yui.yamashita@gmail.com", country=None)
    again = record("結衣", "山下", email="yui.yamashita@gmail.com", country=None)

    assert (daughter["first_kind"], father["first_kind"]) == ("kanji", "native")
    assert FIRST_NAME_CONFLICT in pair_conflicts(daughter, father)
    assert pair_conflicts(daughter, again) == ()


def test_two_kanji_names_read_apart_are_two_people() -> None:
    naoko = record("直子", "佐藤", phone="+819012345678", country="JP")
    naomi = record("直美", "佐藤", phone="+819012345678", country="JP")

    assert FIRST_NAME_CONFLICT in pair_conflicts(naoko, naomi)


def test_a_one_letter_email_typo_is_the_same_mailbox() -> None:
    a = record("Richard", "Lombard", email="richardlonbard91@gmail.com", phone="+33421817733")
    b = record("Richard", "Lombard", email="richardlombard91@gmail.com", phone="+33622517750")

    assert EMAIL_AND_PHONE_CONFLICT not in pair_conflicts(a, b)

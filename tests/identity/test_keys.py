"""Match keys: names comparable across scripts and sources, gaps read from e-mails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amigo.identity.keys import (
    country_hint,
    key_kind,
    local_part_names_the_person,
    name_keys,
    place_key,
    postal_key,
)


def test_a_missing_last_name_is_read_from_the_email() -> None:
    keys = name_keys("Michelle", None, "michelle_richards@outlook.com", "US")

    assert (keys.first, keys.last) == ("michelle", None)
    assert keys.full == "michelle richards"


def test_a_missing_first_name_is_read_from_the_email_whichever_side_it_sits_on() -> None:
    assert name_keys(None, "Imbert", "jerome.imbert@icloud.com", "FR").full == "jerome imbert"
    assert name_keys(None, "Imbert", "imbert.jerome@icloud.com", "FR").full == "jerome imbert"


def test_nothing_is_inferred_from_an_email_that_does_not_spell_the_name() -> None:
    keys = name_keys("Mary", None, "m.y@outlook.com", "GB")

    assert keys.full is None
    assert name_keys("Jean", "Dupont", "zorro@free.fr", "FR").full == "jean dupont"


def test_a_surname_typed_as_first_name_is_inferred_in_its_typed_spelling() -> None:
    # "Jung" keys as "jeong", but the address spells "jung": the leftover is found anyway.
    keys = name_keys("Jung", None, "eun-youngjung@gmail.com", None)

    assert keys.first == "jeong"
    assert keys.last_inferred is not None
    assert keys.last_inferred.startswith("eun")


def test_korean_names_in_hangul_and_latin_letters_get_the_same_keys() -> None:
    native = name_keys("지우", "김", None, "KR")
    typed = name_keys("Ji-woo", "Kim", None, "KR")

    assert native.full == typed.full == "jiu gim"


def test_kanji_are_read_as_chinese_for_a_chinese_record_and_as_japanese_for_a_japanese_one() -> (
    None
):
    chinese = name_keys("一诺", "张", None, None, "+8613800000000")
    japanese = name_keys("直子", "佐藤", None, None, "+819012345678")
    unknown = name_keys("直子", "佐藤", None, None, None)

    assert chinese.full == "yinuo zhang"
    assert japanese.full == "naoko sato"
    # No country: the native text is the key, never a wrong Latin one.
    assert unknown.full == "直子 佐藤"


def test_a_key_read_from_kanji_is_told_from_pinyin_and_from_kana() -> None:
    assert key_kind("直子", "naoko") == "kanji"
    assert key_kind("くみ子", "kumiko") == "kanji"
    assert key_kind("一诺", "yinuo") == "han"
    assert key_kind("なおこ", "naoko") == "kana"
    assert key_kind("直子", "直子") == "native"
    assert key_kind("Naoko", "naoko") == "latin"


def test_the_country_hint_comes_from_the_phone_then_the_mail_provider() -> None:
    assert country_hint("+33612345678", None) == "FR"
    assert country_hint("+819012345678", "x@gmail.com") == "JP"
    assert country_hint(None, "someone@qq.com") == "CN"
    assert country_hint(None, "someone@docomo.ne.jp") == "JP"
    assert country_hint(None, "someone@gmail.com") is None


@pytest.mark.parametrize(
    ("email", "first", "last", "names_the_person"),
    [
        ("jean.dupont@free.fr", "Jean", "Dupont", True),
        ("jdupont@free.fr", "Jean", "Dupont", True),
        ("dupont.jean78@free.fr", "Jean", "Dupont", True),
        ("jchoi@kakao.com", "지후", "최", True),  # "choi" is spelled otherwise than the key "choe"
        ("zorro@free.fr", "Jean", "Dupont", False),
        ("jean.zorro@free.fr", "Jean", "Dupont", False),
    ],
)
def test_a_local_part_that_only_spells_the_name_is_recognised(
    email: str, first: str, last: str, names_the_person: bool
) -> None:
    keys = name_keys(first, last, email, "KR" if not first.isascii() else "FR")

    assert local_part_names_the_person(email, keys, first, last) is names_the_person


def test_places_fold_case_accents_and_signs() -> None:
    assert place_key("Boulogne-Billancourt") == "boulogne billancourt"
    assert place_key("Goethestraße 149") == place_key("goethestrasse 149")
    assert postal_key("sw1a 1aa") == "SW1A1AA"
    assert place_key("  ") is None
    assert postal_key("") is None


@given(st.text(max_size=30), st.text(max_size=30), st.text(max_size=40))
def test_name_keys_never_raise(first: str, last: str, email: str) -> None:
    keys = name_keys(first or None, last or None, email or None, None)

    for key in (keys.first, keys.last, keys.first_inferred, keys.last_inferred):
        assert key is None or (key and " " not in key)

"""Latin match keys of names written in hangul, Han characters, kana or Latin letters."""

from __future__ import annotations

import re

import pytest
from faker.providers.person.ja_JP import Provider as JapaneseNames
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import JaroWinkler

from amigo.quality.romanize import (
    _KOREAN_SURNAME_KEY,
    _KOREAN_SURNAMES,
    NamePart,
    latin_name_key,
    name_script,
)
from amigo.synth.names import Name, name_pool

PROPERTY = settings(max_examples=300, deadline=None)
A_TO_Z = re.compile("[a-z]+")
COUNTRIES = st.sampled_from([None, "KR", "JP", "CN", "FR"])
PARTS = st.sampled_from(["first", "last"])


@pytest.mark.parametrize(
    ("native", "latin"),
    [
        ("김", "Kim"),
        ("이", "Lee"),
        ("이", "Yi"),
        ("이", "Rhee"),
        ("박", "Park"),
        ("최", "Choi"),
        ("정", "Jung"),
        ("정", "Chung"),
        ("강", "Kang"),
        ("윤", "Yoon"),
        ("임", "Lim"),
        ("오", "Oh"),
        ("신", "Shin"),
        ("권", "Kwon"),
        ("안", "Ahn"),
        ("전", "Jeon"),
        ("고", "Ko"),
        ("문", "Moon"),
        ("백", "Paik"),
        ("허", "Huh"),
        ("류", "Ryu"),
        ("유", "Yoo"),
        ("남궁", "Namkung"),
    ],
)
def test_korean_surname_spellings_meet_the_hangul(native: str, latin: str) -> None:
    key = latin_name_key(native, country="KR", part="last")
    assert key is not None
    assert latin_name_key(latin, country="KR", part="last") == key


def test_korean_surnames_that_sound_alike_stay_apart() -> None:
    keys = {latin_name_key(name, country="KR", part="last") for name in ("류", "유", "양")}
    assert keys == {"ryu", "yu", "yang"}


@pytest.mark.parametrize(
    ("native", "latin", "expected"),
    [
        ("지우", "Ji-woo", "jiu"),
        ("서현", "Seo-hyun", "seohyeon"),
        ("미영", "Mi-young", "miyeong"),
        ("성민", "Sung-min", "seongmin"),
        ("승현", "Seung-hyun", "seunghyeon"),
        ("상훈", "Sang-hoon", "sanghun"),
        ("민준", "Min Jun", "minjun"),
    ],
)
def test_korean_given_name_spellings_meet_the_revised_romanization(
    native: str, latin: str, expected: str
) -> None:
    assert latin_name_key(native, country="KR") == expected
    assert latin_name_key(latin, country="KR") == expected


def test_hangul_is_keyed_as_korean_whatever_the_country() -> None:
    assert latin_name_key("김", part="last") == "gim"
    assert latin_name_key("김", country="FR", part="last") == "gim"


@pytest.mark.parametrize(
    ("native", "latin", "part"),
    [
        ("张", "Zhang", "last"),
        ("王", "Wang", "last"),
        ("曾", "Zeng", "last"),  # read as a surname, not "ceng"
        ("单", "Shan", "last"),
        ("一诺", "Yinuo", "first"),
        ("欣怡", "Xinyi", "first"),
        ("張", "Zhang", "last"),  # traditional characters
    ],
)
def test_han_names_get_their_pinyin(native: str, latin: str, part: NamePart) -> None:
    key = latin_name_key(native, country="CN", part=part)
    assert key is not None
    assert latin_name_key(latin, country="CN", part=part) == key


def test_u_umlaut_of_pinyin_is_a_plain_u() -> None:
    assert latin_name_key("吕", country="CN", part="last") == "lu"
    assert latin_name_key("Lü", country="CN", part="last") == "lu"


@pytest.mark.parametrize(
    ("kana", "latins"),
    [
        ("あすか", ["Asuka"]),
        ("さとう", ["Sato", "Satou", "Satoh", "Satō"]),
        ("サトウ", ["Sato"]),
        ("ｻﾄｳ", ["Sato"]),  # halfwidth katakana
        ("ゆうき", ["Yuki", "Yuuki"]),
        ("きょうすけ", ["Kyosuke", "Kyousuke"]),
        ("おおの", ["Ono", "Oono", "Ohno"]),
        ("みつる", ["Mitsuru", "Mituru"]),  # Kunrei-shiki
        ("ほんま", ["Honma", "Homma"]),
        ("しんいち", ["Shinichi", "Shin'ichi"]),
    ],
)
def test_kana_and_hepburn_meet(kana: str, latins: list[str]) -> None:
    key = latin_name_key(kana, country="JP")
    assert key is not None
    assert {latin_name_key(latin, country="JP") for latin in latins} == {key}


@pytest.mark.parametrize(
    ("name", "country"),
    [
        ("佐藤", None),  # Han characters without a country: kanji or hanzi, not read
        ("佐藤", "FR"),
        ("龘", "JP"),  # a kanji the dictionary has no reading for
        ("ㅋㅋ", "KR"),  # loose jamo are not syllables
        ("Иван", None),
        ("محمد", None),
        ("Ivan Иванов", None),
        ("", None),
        ("-", None),
    ],
)
def test_names_that_cannot_be_romanized_have_no_key(name: str, country: str | None) -> None:
    assert latin_name_key(name, country=country) is None


@pytest.mark.parametrize(
    ("kanji", "country", "latin"),
    [
        ("佐藤", "JP", "Sato"),
        ("佐々木", "JP", "Sasaki"),  # 々 repeats the kanji before it
        ("斎藤", "JP", "Saitou"),
        ("大野", "JP", "Ono"),
        ("直子", "JP", "Naoko"),
        ("健一", "JP", "Ken'ichi"),
        ("くみ子", None, "Kumiko"),  # kana beside the kanji: Japanese whatever the country
        ("くみ子", "CN", "Kumiko"),
    ],
)
def test_japanese_kanji_are_read_and_meet_their_romaji(
    kanji: str, country: str | None, latin: str
) -> None:
    key = latin_name_key(kanji, country=country)
    assert key is not None
    assert key == latin_name_key(latin, country="JP")


def test_japanese_kanji_of_the_generators_pool_meet_their_romaji() -> None:
    # 101 names: every surname (50), and 43 of 51 given names, whose other
    # readings (裕樹 Hiroki for "Yuki", 淳 Atsushi for "Jun") are the rest.
    pool = _pool("JP", "ja")
    surnames = [name for name in pool if name[1] == "last"]
    given = [name for name in pool if name[1] == "first"]
    assert _match_shares(surnames, "JP") == (1.0, 1.0)
    equal, _close = _match_shares(given, "JP")
    assert equal >= 0.8


def test_none_has_no_key() -> None:
    assert latin_name_key(None) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jean-Pierre", "jeanpierre"),
        ("van den Berg", "vandenberg"),
        ("Hélène", "helene"),
        ("O'Neil", "oneil"),
        ("Müller", "muller"),
        ("Ｓａｔｏ", "sato"),  # fullwidth
        ("Əliyev", "eliyev"),
    ],
)
def test_latin_names_are_folded_to_a_to_z(name: str, expected: str) -> None:
    assert latin_name_key(name) == expected


def test_japanese_and_korean_given_name_spellings_fold_only_for_that_country() -> None:
    assert latin_name_key("Satou", country="FR", part="last") == "satou"
    assert latin_name_key("Satou", country="JP", part="last") == "sato"
    assert latin_name_key("Ji-woo", country="FR") == "jiwoo"
    assert latin_name_key("Ji-woo", country="KR") == "jiu"


def test_korean_surname_spellings_meet_whatever_the_country_and_the_field() -> None:
    # A Korean customer's Shopify address may be in Paris, and a surname may be
    # typed in the first-name field: "Kim" must meet 김 all the same.
    assert latin_name_key("Kim", country="FR", part="last") == "gim"
    assert latin_name_key("Kim", country=None, part="first") == "gim"
    assert latin_name_key("Jung", country="DE", part="first") == latin_name_key(
        "정", country="KR", part="last"
    )
    assert latin_name_key("Dupont", country="KR", part="last") == "dupont"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dupont", "latin"),
        ("Jean-Pierre d'Arc", "latin"),
        ("Hélène", "latin"),
        ("张", "han"),
        ("佐々木", "han"),
        ("あすか", "kana"),
        ("サトウ", "kana"),
        ("くみ子", "kana"),
        ("김민준", "hangul"),
        ("Иван", "other"),
        ("张Wei", "other"),
        ("", None),
        (None, None),
        ("- '", None),
    ],
)
def test_name_script(name: str | None, expected: str | None) -> None:
    assert name_script(name) == expected


def test_korean_surname_table_folds_each_spelling_to_one_fixed_key() -> None:
    spellings = [spelling for text in _KOREAN_SURNAMES.values() for spelling in text.split()]
    assert len(spellings) == len(set(spellings))
    assert all(_KOREAN_SURNAME_KEY[canonical] == canonical for canonical in _KOREAN_SURNAMES)
    assert len(_KOREAN_SURNAMES) >= 30


def _match_shares(pool: list[tuple[Name, NamePart]], country: str) -> tuple[float, float]:
    """Return the share of pool names whose native and Latin keys are equal, and close."""
    equal = close = 0
    for (native, latin, _), part in pool:
        native_key = latin_name_key(native, country=country, part=part)
        latin_key = latin_name_key(latin, country=country, part=part)
        equal += native_key is not None and native_key == latin_key
        close += JaroWinkler.normalized_similarity(native_key or "", latin_key or "") >= 0.85
    return equal / len(pool), close / len(pool)


def _pool(country: str, language: str) -> list[tuple[Name, NamePart]]:
    pool = name_pool(country, language)
    first: NamePart = "first"
    last: NamePart = "last"
    return [
        *((name, first) for name in pool.female.items + pool.male.items),
        *((name, last) for name in pool.last.items),
    ]


def test_korean_pool_native_and_latin_keys_meet() -> None:
    # 78 names; all meet today (1.0, 1.0).
    equal, close = _match_shares(_pool("KR", "ko"), "KR")
    assert equal >= 0.80
    assert close >= 0.95


def test_chinese_pool_native_and_latin_keys_are_equal() -> None:
    equal, close = _match_shares(_pool("CN", "zh"), "CN")
    assert equal == 1.0
    assert close == 1.0


def test_japanese_kana_and_romaji_keys_meet() -> None:
    # Faker's ja_JP pairs give the kana; the generator's pool keeps the kanji (above).
    first: NamePart = "first"
    last: NamePart = "last"
    pool = [
        *(
            ((kana, romaji, ""), first)
            for _, kana, romaji in JapaneseNames.first_name_female_pairs
            + JapaneseNames.first_name_male_pairs
        ),
        *(((kana, romaji, ""), last) for _, kana, romaji in JapaneseNames.last_name_pairs),
    ]
    equal, close = _match_shares(pool, "JP")
    assert equal >= 0.95  # one pair is Faker's slip: シュウヘイ "Shohei"
    assert close == 1.0


@PROPERTY
@given(st.text(st.characters(exclude_categories=[]), max_size=30), COUNTRIES, PARTS)
def test_key_never_raises_and_is_a_to_z_and_a_fixed_point(
    name: str, country: str | None, part: NamePart
) -> None:
    key = latin_name_key(name, country=country, part=part)
    if key is not None:
        assert A_TO_Z.fullmatch(key)
        assert latin_name_key(key, country=country, part=part) == key


# Letters of the rewrite rules, so that they fire and chain.
RULE_TEXT = st.text(st.sampled_from("aeiouwyhnsgjktmbpzc-' "), max_size=20)
CJK_TEXT = st.text(
    st.one_of(
        st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
        st.characters(min_codepoint=0x3041, max_codepoint=0x30FF),
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from(" -"),
    ),
    max_size=8,
)


@PROPERTY
@given(st.one_of(RULE_TEXT, CJK_TEXT), COUNTRIES, PARTS)
def test_key_is_a_fixed_point_of_rewritten_names(
    name: str, country: str | None, part: NamePart
) -> None:
    key = latin_name_key(name, country=country, part=part)
    if key is not None:
        assert A_TO_Z.fullmatch(key)
        assert latin_name_key(key, country=country, part=part) == key


@PROPERTY
@given(st.text(st.characters(exclude_categories=[]), max_size=30))
def test_name_script_never_raises(name: str) -> None:
    assert name_script(name) in {None, "latin", "han", "kana", "hangul", "other"}

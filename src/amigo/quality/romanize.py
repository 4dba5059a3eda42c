"""Latin match keys for person names written in hangul, Han characters or Japanese kana.

The same customer is typed "김 지우" in a Seoul store and "Kim Ji-woo" on the web
shop; ``latin_name_key`` turns both into one lower-case a-z key ("gim", "jiu") so
that identity matching can compare them. Hangul is romanized with the Revised
Romanization of Korean, syllable by syllable; Han characters with pinyin
(``pypinyin``) in a Chinese name and with their dictionary reading
(``pykakasi``) in a Japanese one; kana with Hepburn (``jaconv``). Latin
spellings are then folded toward those forms: Korean surname variants and a few
given-name spellings when the name is Korean, Japanese long vowels when it is
Japanese.

Limitations:

- Han characters are read as pinyin when ``country`` is Chinese-speaking (CN,
  TW, HK, MO, SG), as Japanese kanji when it is JP or kana stand beside them
  ("佐藤" gives "sato", "くみ子" "kumiko"). Those of a record with no country
  have no key (the caller compares the native strings): pinyin would give a
  Japanese customer a wrong Latin name, and the reverse.
- A kanji name is given the dictionary's usual reading, one of maybe several:
  裕樹 reads "hiroki", and a Yuki who types his name does not meet it. Of the
  generator's Japanese names, every surname and 43 of 51 given names meet
  their romaji. Identity guards never count a reading that differs as proof
  of two people (identity/guards.py).
- Han characters of any other country are read as Mandarin, so Korean hanja and
  Cantonese or Wade-Giles spellings ("Chang", "Cheung" for 张) do not meet.
- The Korean given-name and Japanese folding of Latin names depends on
  ``country``; Korean surname spellings are folded whatever the country and
  the part ("Kim", "Lee", "Park" always give "gim", "i", "bak").
- Hangul is romanized without the sound changes across syllables (박은 gives
  "bakeun", not "bageun"), which is how names are usually spelled anyway.
- Names in other scripts (Cyrillic, Arabic, Devanagari...) have no key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import groupby
from typing import Any, Final, Literal

import jaconv

from amigo.quality.names import name_match_key

NamePart = Literal["first", "last"]
CHINESE_SPEAKING: Final = frozenset({"CN", "TW", "HK", "MO", "SG"})
Script = Literal["latin", "han", "kana", "hangul", "other"]

# Code point ranges (inclusive) of the CJK scripts; Latin is told by Unicode name.
_HANGUL_RANGES: Final = (
    (0x1100, 0x11FF),  # conjoining jamo
    (0x3130, 0x318F),  # compatibility jamo
    (0xA960, 0xA97F),  # jamo extended-A
    (0xAC00, 0xD7FF),  # syllables and jamo extended-B
    (0xFFA0, 0xFFDC),  # halfwidth jamo
)
_KANA_RANGES: Final = (
    (0x3040, 0x30FF),  # hiragana, katakana (with the prolonged sound mark)
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0xFF66, 0xFF9F),  # halfwidth katakana
    (0x1B000, 0x1B16F),  # kana supplement, extended, small kana
)
_HAN_RANGES: Final = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3005, 0x3007),  # 々 (as in 佐々木), 〆, 〇
    (0x3021, 0x3029),
    (0x3038, 0x303B),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x323AF),  # extensions B and later
)

_SYLLABLE_FIRST, _SYLLABLE_COUNT = 0xAC00, 11172
# Revised Romanization of the initial, medial and final jamo, in Unicode order;
# a final is romanized as at the end of a word (ㄱ k, ㄷ t, ㅂ p, ㄹ l).
_RR_INITIALS: Final = (
    "g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h",
)  # fmt: skip
_RR_MEDIALS: Final = (
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
    "wi", "yu", "eu", "ui", "i",
)  # fmt: skip
_RR_FINALS: Final = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p",
    "t", "t", "ng", "t", "t", "k", "t", "p", "t",
)  # fmt: skip

# Korean surnames: the Revised Romanization (what 김, 이, 박... give) and the
# spellings people type for it. The 50 most common surnames, and the compound ones.
_KOREAN_SURNAMES: Final = {
    "gim": "kim gim", "i": "lee yi rhee i ree rhie rie ri li yee", "bak": "park pak bak bahk",
    "choe": "choi choe choy", "jeong": "jung jeong chung cheong joung chong",
    "gang": "kang gang", "jo": "cho jo joe", "yun": "yoon yun youn", "jang": "jang chang",
    "im": "lim im rim yim leem", "han": "han hahn", "o": "oh o", "seo": "seo suh seoh",
    "sin": "shin sin shinn", "gwon": "kwon gwon", "hwang": "hwang", "an": "ahn an",
    "song": "song", "ryu": "ryu ryoo rhyu lyu", "yu": "yoo yu you", "jeon": "jeon jun chun chon jon",
    "hong": "hong", "go": "ko go koh", "mun": "moon mun", "yang": "yang", "son": "son sohn",
    "bae": "bae pae", "baek": "baek paik paek baik", "heo": "heo huh hur", "nam": "nam",
    "gu": "koo ku gu", "no": "noh roh no ro", "ha": "ha", "gwak": "kwak gwak", "seong": "sung seong",
    "cha": "cha", "ju": "joo ju", "u": "woo u", "min": "min", "na": "na", "jin": "jin chin",
    "ji": "ji chi", "eom": "eom um uhm", "chae": "chae", "won": "won", "cheon": "cheon",
    "bang": "bang pang", "gong": "kong gong", "hyeon": "hyun hyeon hyon", "ham": "ham",
    "byeon": "byun byeon pyun byon", "yeom": "yeom yum youm", "yeo": "yeo yuh yeoh",
    "chu": "choo chu", "do": "do doh toh", "seok": "seok suk", "seon": "seon sun",
    "seol": "seol sul", "gil": "gil kil", "pyo": "pyo", "myeong": "myung myeong",
    "namgung": "namgung namkung", "hwangbo": "hwangbo", "jegal": "jegal chegal",
    "seonu": "seonu sunwoo seonwoo",
}  # fmt: skip
_KOREAN_SURNAME_KEY: Final = {
    spelling: canonical
    for canonical, spellings in _KOREAN_SURNAMES.items()
    for spelling in spellings.split()
}

# Latin spellings of Korean syllables rewritten toward the Revised Romanization,
# chosen by measuring the Korean name pool (tests/quality/test_romanize.py): with
# none of them 78% of its names meet, with all of them 100%; each of the first five
# is needed. "ou" -> "u" is left out: no name needs it once "young" is handled.
# They run to a fixed point, so that the key is idempotent.
_KOREAN_REWRITES: Final = (
    # 우 and ㅜ typed "woo" and "oo" (Ji-woo 지우, Sang-hoon 상훈, Tae-yoon 태윤).
    (re.compile("w?oo"), "u"),
    # ㅕ before ㅇ typed "young"/"yung" (Mi-young 미영, Kyung 경, Hyung 형, Myung 명).
    (re.compile("yo?ung"), "yeong"),
    # 현 and 혁 typed "hyun", "hyuk" (Seo-hyun 서현, Dong-hyun 동현).
    (re.compile("hyu(?=[nk])"), "hyeo"),
    # 성 and 정 typed "sung", "jung" (Sung-min 성민, Jung-woo 정우); "seung" (승) is kept.
    (re.compile("(?<=[sj])ung"), "eong"),
    # 건 typed "gun" (Gun-woo 건우); 군 is rare in names.
    (re.compile("gun"), "geon"),
    # ㅅ before i typed "sh" (Shin 신, Shi-woo 시우); not needed by the pool, but the
    # Revised Romanization never writes "sh", so it cannot split names that meet.
    (re.compile("sh"), "s"),
)

# Latin spellings of Japanese names rewritten toward the key of the Hepburn
# romanization of their kana, which then loses its long vowels.
_JAPANESE_REWRITES: Final = (
    # Kunrei-shiki (ISO 3602) syllables typed instead of Hepburn (Mituru, Syota).
    (re.compile("(?<![cs])hu"), "fu"),
    (re.compile("(?<=t)u"), "su"),  # tu -> tsu
    (re.compile("ti"), "chi"),
    (re.compile("si"), "shi"),
    (re.compile("zi"), "ji"),
    (re.compile("sy(?=[aou])"), "sh"),
    (re.compile("ty(?=[aou])"), "ch"),
    (re.compile("zy(?=[aou])"), "j"),
    # ん before b, m, p written "m" in traditional Hepburn (Homma, Namba).
    (re.compile("m(?=[bmp])"), "n"),
    # Long vowels written "oh" on passports (Satoh, Ohno).
    (re.compile("oh(?![aeiouy])"), "o"),
    # Long vowels written "ou", "oo", "uu" or not at all (Satou, Oota, Yuuki).
    (re.compile("o[ou]+"), "o"),
    (re.compile("uu+"), "u"),
)

# Surnames whose reading differs from the common one (曾 is zeng as a surname, not ceng).
_CHINESE_SURNAME_READINGS: Final = {
    "曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao", "区": "ou", "查": "zha",
    "乐": "yue", "覃": "qin", "缪": "miao", "种": "chong", "盖": "ge", "翟": "zhai", "薄": "bo",
    "召": "shao", "阚": "kan", "句": "gou", "秘": "bi", "黑": "he", "重": "chong", "卜": "bu",
    "繁": "po", "员": "yun", "都": "du", "莘": "xin", "冼": "xian", "洗": "xian", "折": "she",
}  # fmt: skip

# Latin letters that neither NFKD nor name_match_key folds to a-z.
_LATIN_EXTRA = str.maketrans(
    {"ə": "e", "ħ": "h", "ŋ": "ng", "ŧ": "t", "ɓ": "b", "ɗ": "d", "ƙ": "k", "ƴ": "y", "ʼ": ""}
)
_NOT_A_TO_Z = re.compile("[^a-z]+")
_MAX_REWRITE_ROUNDS = 8


def latin_name_key(
    name: str | None, *, country: str | None = None, part: NamePart = "first"
) -> str | None:
    """Return a lower-case a-z key of a person's name for matching across scripts, or None."""
    if not name:
        return None
    return _latin_name_key(name, country, part)


def name_script(name: str | None) -> Script | None:
    """Return the script a name is written in: "latin", "han", "kana", "hangul", "other", or None when empty."""
    if not name:
        return None
    scripts = {_char_script(char) for char in unicodedata.normalize("NFKC", name)}
    scripts.discard(None)
    if not scripts:
        return None
    if scripts == {"latin"}:
        return "latin"
    if "hangul" in scripts:
        return "hangul"
    if "kana" in scripts:
        return "kana"
    return "han" if scripts == {"han"} else "other"


def has_han(name: str) -> bool:
    """Tell whether a name holds Han characters (hanzi, kanji)."""
    return any(_char_script(char) == "han" for char in unicodedata.normalize("NFKC", name))


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    """Return True when the code point falls in one of the ranges."""
    return any(low <= code <= high for low, high in ranges)


def _char_script(char: str) -> Script | None:
    """Return the script of one character, or None when it is not a letter."""
    if char.isascii():
        return "latin" if char.isalpha() else None
    if not char.isalpha():
        return None
    code = ord(char)
    if _in_ranges(code, _HANGUL_RANGES):
        return "hangul"
    if _in_ranges(code, _KANA_RANGES):
        return "kana"
    if _in_ranges(code, _HAN_RANGES):
        return "han"
    return "latin" if unicodedata.name(char, "").startswith("LATIN") else "other"


# Cached because names repeat a lot: 1.7 M names are keyed in one batch.
@lru_cache(maxsize=1 << 17)
def _latin_name_key(name: str, country: str | None, part: NamePart) -> str | None:
    """Return the key of a non-empty name."""
    text = unicodedata.normalize("NFKC", name)
    # Non-letters go with Latin text: name_match_key drops them.
    runs = [
        (script or "latin", "".join(chars)) for script, chars in groupby(text, key=_char_script)
    ]
    scripts = {script for script, _ in runs}
    if "other" in scripts:
        return None
    # Han characters are kanji in a Japanese name (a Japanese record, or kana
    # beside them), read with a dictionary; Mandarin for a Chinese-speaking
    # country. Otherwise they are not read: without a country, pinyin would give
    # a Japanese customer a wrong Latin name.
    japanese = country == "JP" or "kana" in scripts
    if "han" in scripts and not japanese and country not in CHINESE_SPEAKING:
        return None
    pieces: list[str] = []
    for index, (script, run) in enumerate(runs):
        if script == "han" and japanese:
            reading = _kanji_reading(run)
            piece = None if reading is None else _romanize(reading, "kana", surname=False)
        else:
            piece = _romanize(run, script, surname=part == "last" and index == 0)
        if piece is None:
            return None
        pieces.append(piece)
    key = "".join(pieces)
    # Script rules first, the country's last: re-keying the Latin output with the
    # same country then applies only the last ones, which are idempotent.
    if "hangul" in scripts:
        key = _korean_key(key, part)
    if "kana" in scripts or ("han" in scripts and japanese):
        key = _rewrite(key, _JAPANESE_REWRITES)
    if country == "KR":
        key = _korean_key(key, part)
    elif country == "JP":
        key = _rewrite(key, _JAPANESE_REWRITES)
    # A Korean surname's spellings meet whatever country the record gives and
    # whichever field holds it ("Kim" in a Paris store, "Jung" typed as a first
    # name): the table only maps whole names, so other names are untouched.
    key = _KOREAN_SURNAME_KEY.get(key, key)
    return key or None


def _romanize(run: str, script: Script, *, surname: bool) -> str | None:
    """Return a run of one script in a-z letters, or None when it cannot be romanized."""
    if script == "hangul":
        return _romanize_hangul(run)
    if script == "kana":
        romaji = jaconv.kana2alphabet(jaconv.kata2hira(run))
        # Kana jaconv does not know (ゝ, ヶ, small ㇰ) stay as they are.
        return _latin_letters(romaji) if romaji.isascii() else None
    if script == "han":
        return _romanize_han(run, surname=surname)
    return _latin_letters(run)


def _latin_letters(text: str) -> str:
    """Return Latin text folded to its a-z letters."""
    return _NOT_A_TO_Z.sub("", name_match_key(text).translate(_LATIN_EXTRA))


@lru_cache(maxsize=1)
def _kanji_reader() -> Any:
    # Imported here: pykakasi's dictionary takes over a second to load, which only
    # a run meeting a Japanese name written in kanji pays.
    import pykakasi  # noqa: PLC0415

    return pykakasi.kakasi()  # type: ignore[no-untyped-call]


def _kanji_reading(text: str) -> str | None:
    """Return the usual reading of kanji (as in a name) in hiragana, or None when one has none.

    A name may be read several ways (裕樹 is Hiroki or Yuki): this is the
    dictionary's first, so a typed spelling of another reading does not meet it.
    """
    reading = []
    for item in _kanji_reader().convert(text):
        hiragana = str(item["hira"])
        if not hiragana or any(_char_script(char) == "han" for char in hiragana):
            return None
        reading.append(hiragana)
    return "".join(reading)


def _romanize_hangul(text: str) -> str | None:
    """Return hangul syllables in the Revised Romanization, or None for loose jamo."""
    syllables: list[str] = []
    for char in text:
        index = ord(char) - _SYLLABLE_FIRST
        if not 0 <= index < _SYLLABLE_COUNT:
            return None
        initial, rest = divmod(index, 21 * 28)
        medial, final = divmod(rest, 28)
        syllables.append(_RR_INITIALS[initial] + _RR_MEDIALS[medial] + _RR_FINALS[final])
    return "".join(syllables)


def _romanize_han(text: str, *, surname: bool) -> str | None:
    """Return Han characters in toneless pinyin, or None when one has no reading."""
    head = _CHINESE_SURNAME_READINGS.get(text[0], "") if surname else ""
    rest = text[1:] if head else text
    # v_to_u: ü as "u" (吕 "lu"), the way it reads once accents are folded.
    # Imported here: pypinyin's phrase dictionary takes half a second to load, which
    # every command and worker would pay at start whether or not a Han name comes.
    from pypinyin import lazy_pinyin  # noqa: PLC0415

    pinyin = (head + "".join(lazy_pinyin(rest, v_to_u=True))).replace("ü", "u")
    # pypinyin leaves a character it cannot read as it is.
    return pinyin if pinyin.isascii() and pinyin.isalpha() else None


def _korean_key(key: str, part: NamePart) -> str:
    """Return a Korean name's key with its spelling variants folded to one."""
    if part == "last" and key in _KOREAN_SURNAME_KEY:
        return _KOREAN_SURNAME_KEY[key]
    key = _rewrite(key, _KOREAN_REWRITES)
    return _KOREAN_SURNAME_KEY.get(key, key) if part == "last" else key


def _rewrite(key: str, rules: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    """Return the key with the rules applied until it no longer changes."""
    for _ in range(_MAX_REWRITE_ROUNDS):
        rewritten = key
        for pattern, replacement in rules:
            rewritten = pattern.sub(replacement, rewritten)
        if rewritten == key:
            break
        key = rewritten
    return key

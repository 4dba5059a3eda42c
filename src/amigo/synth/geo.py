"""Countries of the brand's customers: phone plans, languages, currencies, names of countries."""

from __future__ import annotations

from dataclasses import dataclass, field


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a compact data string into a tuple (keeps the data tables short)."""
    return tuple(part.strip() for part in text.split(sep))


def compile_template(template: str) -> str:
    """Turn a phone template ('0# ## ## ## ##', '#' = one digit) into a str.format pattern."""
    return template.replace("{", "{{").replace("}", "}}").replace("#", "{}")


@dataclass(frozen=True, slots=True)
class PhonePlan:
    """How a country's numbers are built and how people write them.

    Templates use '#' for each digit of the national significant number (NSN).
    The prefixes and digit sets were checked against `phonenumbers` so that the
    generated numbers are valid: format variants are the noise, not invalidity.
    """

    calling_code: str
    nsn_length: int
    mobile_prefixes: tuple[str, ...]
    national: str
    variants: tuple[str, ...]
    first_digits: str = "0123456789"
    landline_prefixes: tuple[str, ...] = ()
    national_fmt: str = field(init=False)
    variant_fmts: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "national_fmt", compile_template(self.national))
        object.__setattr__(self, "variant_fmts", tuple(compile_template(v) for v in self.variants))

    def format_e164(self, nsn: str) -> str:
        """Return the E.164 form of a national significant number."""
        return "+" + self.calling_code + nsn


@dataclass(frozen=True, slots=True)
class Country:
    """A country the brand sells to, with what the generator needs to write its people."""

    code: str  # ISO 3166 alpha-2, as Shopify writes it
    alpha3: str  # as Y2 writes it
    weight: float  # share of the customer base
    language: str  # default language (ISO 639-1, lower case)
    currency: str
    vat: float  # VAT or sales tax rate, for Shopify's total_tax
    zone: str  # default IANA time zone of residents
    phone: PhonePlan
    email_domains: tuple[tuple[str, float], ...]
    cjk: bool = False
    synonyms: tuple[str, ...] = ()  # other ways people write the country's name
    cegid_share: float = 1.0  # relative chance to be a store customer (no store: lower)


_FR_PHONE = PhonePlan(
    calling_code="33",
    nsn_length=9,
    mobile_prefixes=("60", "61", "62", "64", "65", "66", "67", "68", "73", "75", "76", "77", "78"),
    landline_prefixes=("14", "15", "16", "17", "18", "42", "43", "47", "53", "56"),
    national="0# ## ## ## ##",
    variants=(
        "0#########",
        "0#.##.##.##.##",
        "+33 # ## ## ## ##",
        "+33#########",
        "0033 # ## ## ## ##",
        "+33 (0)# ## ## ## ##",
        "(+33) #-##-##-##-##",
    ),
)

COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in (
        Country(
            code="FR",
            alpha3="FRA",
            weight=0.34,
            language="fr",
            currency="EUR",
            vat=0.20,
            zone="Europe/Paris",
            phone=_FR_PHONE,
            email_domains=(
                ("gmail.com", 0.34),
                ("orange.fr", 0.13),
                ("hotmail.fr", 0.1),
                ("yahoo.fr", 0.07),
                ("free.fr", 0.08),
                ("sfr.fr", 0.05),
                ("laposte.net", 0.05),
                ("outlook.fr", 0.06),
                ("icloud.com", 0.08),
                ("wanadoo.fr", 0.04),
            ),
        ),
        Country(
            code="GB",
            alpha3="GBR",
            weight=0.10,
            language="en",
            currency="GBP",
            vat=0.20,
            zone="Europe/London",
            phone=PhonePlan(
                calling_code="44",
                nsn_length=10,
                mobile_prefixes=("71", "72", "73", "74", "75", "78", "772", "775", "777", "795"),
                national="0#### ######",
                variants=(
                    "0##########",
                    "+44 #### ######",
                    "+44 (0)#### ######",
                    "0044 #### ######",
                    "+44##########",
                    "0### ### ####",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.38),
                ("hotmail.co.uk", 0.14),
                ("outlook.com", 0.12),
                ("btinternet.com", 0.07),
                ("yahoo.co.uk", 0.09),
                ("icloud.com", 0.12),
                ("sky.com", 0.04),
                ("live.co.uk", 0.04),
            ),
            synonyms=("UK", "Great Britain", "England", "U.K."),
        ),
        Country(
            code="IT",
            alpha3="ITA",
            weight=0.07,
            language="it",
            currency="EUR",
            vat=0.22,
            zone="Europe/Rome",
            phone=PhonePlan(
                calling_code="39",
                nsn_length=10,
                mobile_prefixes=words(
                    "320 328 329 333 334 335 338 339 340 345 "
                    "347 348 349 366 380 388 389 391 392 393"
                ),
                national="### ### ####",
                variants=(
                    "##########",
                    "+39 ### ### ####",
                    "0039 ##########",
                    "+39##########",
                    "###-#######",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.40),
                ("libero.it", 0.15),
                ("hotmail.it", 0.1),
                ("yahoo.it", 0.08),
                ("virgilio.it", 0.07),
                ("alice.it", 0.05),
                ("outlook.it", 0.07),
                ("icloud.com", 0.08),
            ),
        ),
        Country(
            code="DE",
            alpha3="DEU",
            weight=0.07,
            language="de",
            currency="EUR",
            vat=0.19,
            zone="Europe/Berlin",
            phone=PhonePlan(
                calling_code="49",
                nsn_length=11,
                mobile_prefixes=words(
                    "151 152 157 160 162 170 171 172 173 174 175 176 177 178 179"
                ),
                national="0### ########",
                variants=(
                    "0###-########",
                    "0###/########",
                    "0###########",
                    "+49 ### ########",
                    "+49 (0)### ########",
                    "0049 ### ########",
                    "+49###########",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.30),
                ("web.de", 0.18),
                ("gmx.de", 0.18),
                ("t-online.de", 0.1),
                ("outlook.de", 0.06),
                ("yahoo.de", 0.05),
                ("icloud.com", 0.08),
                ("posteo.de", 0.05),
            ),
        ),
        Country(
            code="US",
            alpha3="USA",
            weight=0.11,
            language="en",
            currency="USD",
            vat=0.08,
            zone="America/New_York",
            phone=PhonePlan(
                calling_code="1",
                nsn_length=10,
                mobile_prefixes=("212", "646", "917"),  # cities carry their own area codes
                first_digits="23456789",  # a US exchange never starts with 0 or 1
                national="(###) ###-####",
                variants=(
                    "###-###-####",
                    "###.###.####",
                    "+1 ###-###-####",
                    "1 (###) ###-####",
                    "##########",
                    "+1##########",
                    "+1 (###) ###-####",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.45),
                ("yahoo.com", 0.12),
                ("hotmail.com", 0.07),
                ("outlook.com", 0.09),
                ("icloud.com", 0.14),
                ("aol.com", 0.04),
                ("me.com", 0.04),
                ("comcast.net", 0.05),
            ),
            synonyms=("USA", "US", "United States of America", "U.S.A."),
        ),
        Country(
            code="JP",
            alpha3="JPN",
            weight=0.08,
            language="ja",
            currency="JPY",
            vat=0.10,
            zone="Asia/Tokyo",
            phone=PhonePlan(
                calling_code="81",
                nsn_length=10,
                mobile_prefixes=("70", "80", "90"),
                first_digits="123456789",
                national="0##-####-####",
                variants=(
                    "0##########",
                    "+81 ##-####-####",
                    "+81##########",
                    "0## #### ####",
                    "+81-##-####-####",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.38),
                ("yahoo.co.jp", 0.2),
                ("docomo.ne.jp", 0.1),
                ("ezweb.ne.jp", 0.06),
                ("softbank.ne.jp", 0.06),
                ("icloud.com", 0.14),
                ("outlook.jp", 0.06),
            ),
            cjk=True,
        ),
        Country(
            code="KR",
            alpha3="KOR",
            weight=0.06,
            language="ko",
            currency="KRW",
            vat=0.10,
            zone="Asia/Seoul",
            phone=PhonePlan(
                calling_code="82",
                nsn_length=10,
                mobile_prefixes=("10",),
                first_digits="2346789",
                national="0##-####-####",
                variants=(
                    "0##########",
                    "+82 ##-####-####",
                    "+82##########",
                    "0## #### ####",
                    "+82-##-####-####",
                ),
            ),
            email_domains=(
                ("naver.com", 0.42),
                ("gmail.com", 0.3),
                ("daum.net", 0.12),
                ("hanmail.net", 0.08),
                ("kakao.com", 0.05),
                ("nate.com", 0.03),
            ),
            cjk=True,
            synonyms=("Korea", "Republic of Korea", "Korea, Republic of"),
        ),
        Country(
            code="CN",
            alpha3="CHN",
            weight=0.07,
            language="zh",
            currency="CNY",
            vat=0.13,
            zone="Asia/Shanghai",
            phone=PhonePlan(
                calling_code="86",
                nsn_length=11,
                mobile_prefixes=words(
                    "130 131 132 133 135 136 137 138 139 150 151 152 158 159 186 187 188 189"
                ),
                national="### #### ####",
                variants=(
                    "###########",
                    "+86 ### #### ####",
                    "+86###########",
                    "0086 ###########",
                    "###-####-####",
                ),
            ),
            email_domains=(
                ("qq.com", 0.42),
                ("163.com", 0.22),
                ("126.com", 0.1),
                ("gmail.com", 0.1),
                ("sina.com", 0.06),
                ("outlook.com", 0.05),
                ("foxmail.com", 0.05),
            ),
            cjk=True,
            synonyms=("PRC", "P.R. China", "People's Republic of China"),
        ),
        Country(
            code="ES",
            alpha3="ESP",
            weight=0.03,
            language="es",
            currency="EUR",
            vat=0.21,
            zone="Europe/Madrid",
            phone=PhonePlan(
                calling_code="34",
                nsn_length=9,
                mobile_prefixes=("60", "61", "62", "63", "64", "65", "66", "67", "68", "69"),
                national="### ## ## ##",
                variants=(
                    "### ### ###",
                    "#########",
                    "+34 ### ## ## ##",
                    "+34#########",
                    "0034 #########",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.45),
                ("hotmail.es", 0.2),
                ("yahoo.es", 0.1),
                ("outlook.es", 0.1),
                ("telefonica.net", 0.05),
                ("icloud.com", 0.1),
            ),
            cegid_share=0.45,
        ),
        Country(
            code="BE",
            alpha3="BEL",
            weight=0.03,
            language="fr",
            currency="EUR",
            vat=0.21,
            zone="Europe/Brussels",
            phone=PhonePlan(
                calling_code="32",
                nsn_length=9,
                mobile_prefixes=words(
                    "470 471 472 473 474 475 476 477 478 479 484 485 486 "
                    "487 488 489 490 491 492 493 494 495 496 497 498 499"
                ),
                national="0### ## ## ##",
                variants=(
                    "0#########",
                    "+32 ### ## ## ##",
                    "+32#########",
                    "0032 ### ## ## ##",
                    "0###/##.##.##",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.42),
                ("skynet.be", 0.1),
                ("telenet.be", 0.12),
                ("hotmail.com", 0.12),
                ("outlook.be", 0.08),
                ("proximus.be", 0.06),
                ("icloud.com", 0.1),
            ),
            cegid_share=0.55,
        ),
        Country(
            code="CH",
            alpha3="CHE",
            weight=0.02,
            language="de",
            currency="CHF",
            vat=0.081,
            zone="Europe/Zurich",
            phone=PhonePlan(
                calling_code="41",
                nsn_length=9,
                mobile_prefixes=("75", "76", "77", "78", "79"),
                national="0## ### ## ##",
                variants=("0#########", "+41 ## ### ## ##", "+41#########", "0041 ## ### ## ##"),
            ),
            email_domains=(
                ("gmail.com", 0.4),
                ("bluewin.ch", 0.22),
                ("gmx.ch", 0.1),
                ("hotmail.com", 0.08),
                ("sunrise.ch", 0.06),
                ("icloud.com", 0.14),
            ),
            cegid_share=0.45,
        ),
        Country(
            code="NL",
            alpha3="NLD",
            weight=0.02,
            language="nl",
            currency="EUR",
            vat=0.21,
            zone="Europe/Amsterdam",
            phone=PhonePlan(
                calling_code="31",
                nsn_length=9,
                mobile_prefixes=("61", "62", "63", "64", "65"),
                national="0# ########",
                variants=(
                    "0#-########",
                    "0#########",
                    "+31 # ########",
                    "+31#########",
                    "0031 # ########",
                ),
            ),
            email_domains=(
                ("gmail.com", 0.42),
                ("hotmail.com", 0.15),
                ("outlook.com", 0.12),
                ("ziggo.nl", 0.1),
                ("kpnmail.nl", 0.08),
                ("icloud.com", 0.13),
            ),
            synonyms=("Holland", "The Netherlands"),
            cegid_share=0.4,
        ),
    )
}

# Shopify's English country names (country / country_name).
ENGLISH_NAMES: dict[str, str] = {
    "FR": "France",
    "GB": "United Kingdom",
    "IT": "Italy",
    "DE": "Germany",
    "US": "United States",
    "JP": "Japan",
    "KR": "South Korea",
    "CN": "China",
    "ES": "Spain",
    "BE": "Belgium",
    "CH": "Switzerland",
    "NL": "Netherlands",
}

_ORDER = ("FR", "GB", "IT", "DE", "US", "JP", "KR", "CN", "ES", "BE", "CH", "NL")
_NAMES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "en": tuple(ENGLISH_NAMES[c] for c in _ORDER),
    "fr": words(
        "France|Royaume-Uni|Italie|Allemagne|États-Unis|Japon|"
        "Corée du Sud|Chine|Espagne|Belgique|Suisse|Pays-Bas",
        "|",
    ),
    "it": words(
        "Francia|Regno Unito|Italia|Germania|Stati Uniti|Giappone|"
        "Corea del Sud|Cina|Spagna|Belgio|Svizzera|Paesi Bassi",
        "|",
    ),
    "de": words(
        "Frankreich|Vereinigtes Königreich|Italien|Deutschland|Vereinigte Staaten|Japan|"
        "Südkorea|China|Spanien|Belgien|Schweiz|Niederlande",
        "|",
    ),
    "ja": words(
        "フランス|イギリス|イタリア|ドイツ|アメリカ合衆国|日本|"
        "韓国|中国|スペイン|ベルギー|スイス|オランダ",
        "|",
    ),
    "ko": words(
        "프랑스|영국|이탈리아|독일|미국|일본|대한민국|중국|스페인|벨기에|스위스|네덜란드",
        "|",
    ),
    "zh": words(
        "法国|英国|意大利|德国|美国|日本|韩国|中国|西班牙|比利时|瑞士|荷兰",
        "|",
    ),
    "es": words(
        "Francia|Reino Unido|Italia|Alemania|Estados Unidos|Japón|"
        "Corea del Sur|China|España|Bélgica|Suiza|Países Bajos",
        "|",
    ),
    "nl": words(
        "Frankrijk|Verenigd Koninkrijk|Italië|Duitsland|Verenigde Staten|Japan|"
        "Zuid-Korea|China|Spanje|België|Zwitserland|Nederland",
        "|",
    ),
}

# COUNTRY_NAMES[language][alpha-2] = the country's name in that language.
COUNTRY_NAMES: dict[str, dict[str, str]] = {
    lang: dict(zip(_ORDER, names, strict=True)) for lang, names in _NAMES_BY_LANGUAGE.items()
}

# Region (territory) of the locale a visitor's browser sends, per language.
LOCALE_REGION: dict[str, str] = {
    "fr": "FR",
    "en": "GB",
    "it": "IT",
    "de": "DE",
    "ja": "JP",
    "ko": "KR",
    "zh": "CN",
    "es": "ES",
    "nl": "NL",
}

# Y2 LanguageId per language.
Y2_LANGUAGE: dict[str, str] = {lang: lang.upper() for lang in _NAMES_BY_LANGUAGE}

# Rough retail rates against EUR, and the rounding a price list applies.
CURRENCY_RATE: dict[str, tuple[float, int, int]] = {
    # currency: (units per EUR, round to a multiple of, minor-unit digits)
    "EUR": (1.0, 5, 2),
    "GBP": (0.87, 5, 2),
    "USD": (1.15, 5, 2),
    "CHF": (0.98, 5, 2),
    "JPY": (170.0, 1000, 0),
    "KRW": (1550.0, 1000, 0),
    "CNY": (8.4, 10, 2),
}


def convert_price(eur: int, currency: str) -> int:
    """Return a EUR catalog price in `currency`'s price list, in minor units (cents, yen)."""
    rate, step, digits = CURRENCY_RATE[currency]
    major = max(step, round(eur * rate / step) * step)
    return int(major * 10**digits)


def minor_digits(currency: str) -> int:
    """Return how many decimals a currency has (0 for JPY and KRW)."""
    return CURRENCY_RATE[currency][2]

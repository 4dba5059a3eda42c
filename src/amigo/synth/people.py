"""The true people behind the source records: one per person id, with look-alikes on purpose."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from amigo.quality.emails import email_match_key
from amigo.synth.geo import COUNTRIES, Country
from amigo.synth.names import Name, Weighted, name_pool
from amigo.synth.options import NoiseOptions
from amigo.synth.places import (
    ADDRESS_LAYOUT,
    ADDRESS_LINE2,
    ADDRESS_LINE2_LATIN,
    CITIES,
    STREETS,
    City,
)
from amigo.synth.timefmt import DAY, REF_TS, year_of

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Letters a British inward postcode may use.
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# How people build their e-mail local part: {f} given name, {l} family name, {i} initial.
_EMAIL_PATTERNS = Weighted(
    [
        "{f}.{l}",
        "{f}{l}",
        "{i}{l}",
        "{f}.{l}{yy}",
        "{f}_{l}",
        "{l}.{f}",
        "{f}{l}{n}",
        "{f}.{l}{nnn}",
        "{l}{i}",
        "{f}{y}",
    ],
    [30, 10, 10, 12, 5, 6, 10, 5, 4, 8],
)
# How many recent people a namesake or a household member may be modelled on.
_RECENT = 64


@dataclass(slots=True)
class Address:
    """A postal address, with its Latin rendering for CJK countries."""

    line1: str
    line1_latin: str
    line2: str
    line2_latin: str
    zip_code: str
    city: City


@dataclass(slots=True)
class Person:
    """The truth about one person; source records render it with noise."""

    person_id: str
    country: Country
    city: City
    language: str
    gender: str  # "F" or "M"
    first: Name
    last: Name
    birth: tuple[int, int, int]  # year, month, day
    email: str
    email2: str  # "" = none
    mobile: str  # national significant number; "" = none
    landline: str  # national significant number; "" = none
    address: Address  # the current address
    old_address: Address | None  # the address before a move
    home_store: str  # "" = no store near home
    zone: str
    activity: float  # how much the person buys and interacts (mean 1)
    tier: str
    email_optin: bool
    sms_optin: bool
    optin_flip_ts: int  # from this instant the e-mail consent is the opposite; 0 = never
    kind: str  # "person", "namesake" or "household"


class PhoneNumbers:
    """Hand out phone numbers that are valid and never shared by accident.

    The suffix after the prefix is a bijection of a per-country counter
    (k * A + B mod the size of the number space, A coprime with it), so two
    people get the same number only when the generator means it (households).
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._counters: dict[str, int] = {}
        self._offsets: dict[str, int] = {}
        self._multipliers: dict[int, int] = {}

    def _multiplier(self, space: int) -> int:
        found = self._multipliers.get(space)
        if found is None:
            # Near the golden ratio of the space: consecutive numbers look unrelated.
            found = int(space * 0.6180339887)
            while math.gcd(found, space) != 1:
                found += 1
            self._multipliers[space] = found
        return found

    def next(self, key: str, prefix: str, nsn_length: int, first_digits: str) -> str:
        """Return a fresh national significant number starting with `prefix`."""
        k = self._counters.get(key, 0)
        self._counters[key] = k + 1
        tail = nsn_length - len(prefix) - 1
        space = len(first_digits) * 10**tail
        offset = self._offsets.get(key)
        if offset is None:
            offset = self._rng.randrange(1 << 40)
            self._offsets[key] = offset
        value = (k * self._multiplier(space) + offset) % space
        head, rest = divmod(value, 10**tail)
        return f"{prefix}{first_digits[head]}{rest:0{tail}d}"


class PersonFactory:
    """Make people one at a time; memory grows only by the set of mailboxes handed out."""

    def __init__(self, *, rng: random.Random, noise: NoiseOptions) -> None:
        self._rng = rng
        self._noise = noise
        self._countries = Weighted(list(COUNTRIES.values()), [c.weight for c in COUNTRIES.values()])
        self._cities = {
            code: Weighted(list(cities), [c.weight for c in cities])
            for code, cities in CITIES.items()
        }
        self._domains = {
            code: Weighted([d for d, _ in c.email_domains], [w for _, w in c.email_domains])
            for code, c in COUNTRIES.items()
        }
        self._phones = PhoneNumbers(random.Random(rng.random()))
        # E-mails must be unique across people unless shared on purpose: a small
        # per-person cost (a few tens of bytes) that the streaming budget allows.
        # Keyed by mailbox, not by string: maurice.smith@gmail.com and
        # mauricesmith@gmail.com reach one mailbox, which two people cannot own.
        self._mailboxes: set[str] = set()
        self._recent: list[Person] = []
        self._count = 0

    def make(self) -> Person:
        """Return the next person (sometimes a namesake or household member of a recent one)."""
        rng = self._rng
        self._count += 1
        pid = f"P{self._count:07d}"
        roll = rng.random()
        noise = self._noise
        if self._recent and roll < noise.namesake:
            person = self._namesake(pid, rng.choice(self._recent))
        elif self._recent and roll < noise.namesake + noise.household:
            person = self._household(pid, rng.choice(self._recent))
        else:
            person = self._fresh(pid)
        if len(self._recent) < _RECENT:
            self._recent.append(person)
        else:
            self._recent[self._count % _RECENT] = person
        return person

    # -- building blocks -------------------------------------------------------------

    def _fresh(self, pid: str) -> Person:
        rng = self._rng
        country = self._countries.draw(rng)
        city = self._cities[country.code].draw(rng)
        language = city.language or country.language
        gender = "F" if rng.random() < 0.55 else "M"
        pool = name_pool(country.code, language)
        first = (pool.female if gender == "F" else pool.male).draw(rng)
        last = pool.last.draw(rng)
        birth = self._birth()
        return self._complete(
            pid=pid,
            country=country,
            city=city,
            language=language,
            gender=gender,
            first=first,
            last=last,
            birth=birth,
            kind="person",
        )

    def _namesake(self, pid: str, model: Person) -> Person:
        # A different person with the same name in the same city: must not be merged.
        birth = self._birth()
        return self._complete(
            pid=pid,
            country=model.country,
            city=model.city,
            language=model.language,
            gender=model.gender,
            first=model.first,
            last=model.last,
            birth=birth,
            kind="namesake",
        )

    def _household(self, pid: str, model: Person) -> Person:
        # A relative at the same address sharing the e-mail or the phone: a different person.
        rng = self._rng
        gender = "F" if rng.random() < 0.5 else "M"
        pool = name_pool(model.country.code, model.language)
        first = model.first
        while first[1] == model.first[1]:
            first = (pool.female if gender == "F" else pool.male).draw(rng)
        birth = model.birth
        while birth[0] == model.birth[0]:
            birth = self._birth()
        person = self._complete(
            pid=pid,
            country=model.country,
            city=model.city,
            language=model.language,
            gender=gender,
            first=first,
            last=model.last,
            birth=birth,
            kind="household",
        )
        person.address = model.address
        person.old_address = None
        person.landline = model.landline
        if rng.random() < 0.5:
            # The relative's own addresses go unused: their mailboxes are free again.
            for unused in (person.email, person.email2):
                if unused:
                    self._mailboxes.discard(email_match_key(unused))
            person.email = model.email
            person.email2 = ""
        else:
            person.mobile = model.mobile or person.mobile
        return person

    def _complete(
        self,
        *,
        pid: str,
        country: Country,
        city: City,
        language: str,
        gender: str,
        first: Name,
        last: Name,
        birth: tuple[int, int, int],
        kind: str,
    ) -> Person:
        rng = self._rng
        noise = self._noise
        plan = country.phone
        prefixes = city.area_codes or plan.mobile_prefixes
        mobile = self._phones.next(
            country.code, rng.choice(prefixes), plan.nsn_length, plan.first_digits
        )
        landline = ""
        if plan.landline_prefixes and rng.random() < 0.2:
            landline = self._phones.next(
                country.code + ":fixed",
                rng.choice(plan.landline_prefixes),
                plan.nsn_length,
                plan.first_digits,
            )
        email = self._email(first, last, birth[0], country)
        email2 = (
            self._email(first, last, birth[0], country) if rng.random() < noise.second_email else ""
        )
        address = self._address(city)
        old_address = None
        if rng.random() < noise.moved:
            old_city = city if rng.random() < 0.7 else self._cities[country.code].draw(rng)
            old_address = self._address(old_city)
        activity = rng.expovariate(1.0)
        tier = "VIP" if activity > 3.0 else "PREMIUM" if activity > 1.6 else "STANDARD"
        email_optin = rng.random() < (0.5 + 0.1 * min(activity, 3.0))
        flip = 0
        if rng.random() < 0.12:
            flip = REF_TS - int(rng.random() * 5 * 365) * DAY
        return Person(
            person_id=pid,
            country=country,
            city=city,
            language=language,
            gender=gender,
            first=first,
            last=last,
            birth=birth,
            email=email,
            email2=email2,
            mobile=mobile,
            landline=landline,
            address=address,
            old_address=old_address,
            home_store=rng.choice(city.stores) if city.stores else "",
            zone=city.zone or country.zone,
            activity=activity,
            tier=tier,
            email_optin=email_optin,
            sms_optin=rng.random() < 0.3,
            optin_flip_ts=flip,
            kind=kind,
        )

    def _birth(self) -> tuple[int, int, int]:
        rng = self._rng
        age = int(rng.triangular(18, 80, 31))
        year = year_of(REF_TS) - age
        month = rng.randint(1, 12)
        last_day = _DAYS_IN_MONTH[month - 1] + (1 if month == 2 and year % 4 == 0 else 0)
        return year, month, rng.randint(1, last_day)

    def _email(self, first: Name, last: Name, year: int, country: Country) -> str:
        rng = self._rng
        domain = self._domains[country.code].draw(rng)
        given, family = first[2] or "client", last[2] or "ami"
        # Korean and Chinese given names are often written without the hyphen.
        if rng.random() < 0.6:
            given = given.replace("-", "")
        if domain == "qq.com" and rng.random() < 0.7:
            local = str(rng.randint(10_000_000, 3_999_999_999))
        else:
            pattern = _EMAIL_PATTERNS.draw(rng)
            local = pattern.format(
                f=given,
                l=family,
                i=given[0],
                yy=f"{year % 100:02d}",
                y=year,
                n=rng.randint(1, 99),
                nnn=rng.randint(100, 999),
            ).replace(" ", "")
        email = f"{local}@{domain}"
        while (mailbox := email_match_key(email)) in self._mailboxes:
            email = f"{local}{rng.randint(1, 9999)}@{domain}"
        self._mailboxes.add(mailbox)
        return email

    def _address(self, city: City) -> Address:
        rng = self._rng
        code = city.country
        zip_code = "".join(
            str(int(rng.random() * 10))
            if ch == "#"
            else (_POSTCODE_LETTERS if code == "GB" else _UPPER)[int(rng.random() * 20)]
            if ch == "@"
            else ch
            for ch in rng.choice(city.zips)
        )
        a, b = rng.randint(1, 9), _UPPER[rng.randint(0, 5)]
        line2 = line2_latin = ""
        if rng.random() < 0.25:
            k = rng.randrange(len(ADDRESS_LINE2[code]))
            line2 = ADDRESS_LINE2[code][k].format(a=a, b=b)
            latin2 = ADDRESS_LINE2_LATIN.get(code)
            line2_latin = latin2[min(k, len(latin2) - 1)].format(a=a, b=b) if latin2 else line2
        if city.streets:
            native, latin = rng.choice(city.streets)
            if code == "JP":
                n = f"{rng.randint(1, 6)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
                return Address(f"{native}{n}", f"{n} {latin}", line2, line2_latin, zip_code, city)
            n = str(rng.randint(1, 600))
            if code == "KR":
                return Address(f"{native} {n}", f"{n} {latin}", line2, line2_latin, zip_code, city)
            return Address(f"{native}{n}号", f"No. {n} {latin}", line2, line2_latin, zip_code, city)
        street = rng.choice(STREETS[code])
        number = rng.randint(1, 9999) if code == "US" else int(rng.triangular(1, 180, 8))
        line1 = ADDRESS_LAYOUT[code].format(n=number, s=street)
        return Address(line1, line1, line2, line2_latin, zip_code, city)

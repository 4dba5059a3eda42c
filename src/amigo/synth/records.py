"""Render a person into one source record's identity values, with the configured noise."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

from amigo.synth.options import NoiseOptions
from amigo.synth.people import Address, Person

# Keys next to each other on a QWERTY/AZERTY keyboard: the typos people make.
_NEIGHBOURS = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "rz",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "km",
    "m": "nl",
    "n": "bm",
    "o": "ip",
    "p": "ol",
    "q": "aw",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "cw",
    "y": "tu",
    "z": "ae",
}


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """What a source usually holds about a person, before any noise."""

    p_email: float
    p_phone: float
    p_landline: float
    p_birth: float
    p_address: float
    p_latin: float  # chance a CJK name and address are typed in Latin letters
    phone_e164: bool  # the source normalizes phones to E.164


@dataclass(slots=True)
class Identity:
    """The identity values one record carries (empty string = no value)."""

    first: str
    last: str
    email: str
    alt_email: str
    phone: str
    landline: str
    birth: tuple[int, int, int] | None  # may be an impossible date (invalid noise)
    address: Address | None
    latin: bool
    email_optin: bool
    sms_optin: bool


def strip_accents(text: str) -> str:
    """Return `text` without diacritics, as old tills and keyboards typed it."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def typo(text: str, rng: random.Random) -> str:
    """Return `text` with one keyboard slip: swap, drop, double or neighbour key."""
    if len(text) < 3:
        return text + text[-1:] if text else text
    i = rng.randrange(1, len(text) - 1)
    roll = rng.random()
    if roll < 0.3:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if roll < 0.55:
        return text[:i] + text[i + 1 :]
    if roll < 0.75:
        return text[:i] + text[i] + text[i:]
    lower = text[i].lower()
    neighbours = _NEIGHBOURS.get(lower)
    if not neighbours:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    key = neighbours[int(rng.random() * len(neighbours))]
    return text[:i] + (key.upper() if text[i].isupper() else key) + text[i + 1 :]


def email_typo(email: str, rng: random.Random) -> str:
    """Return `email` with a slip in the local part (mostly) or the domain name."""
    local, _, domain = email.partition("@")
    if rng.random() < 0.8 or "." not in domain:
        return f"{typo(local, rng)}@{domain}"
    name, _, tld = domain.partition(".")
    return f"{local}@{typo(name, rng)}.{tld}"


def invalid_email(email: str, rng: random.Random) -> str:
    """Return a syntactically invalid variant of `email`."""
    local, _, domain = email.partition("@")
    roll = rng.random()
    if roll < 0.25:
        return f"{local}@{domain.rsplit('.', 1)[0]}"
    if roll < 0.45:
        return f"{local}@@{domain}"
    if roll < 0.65:
        return f"{local}.{domain}"
    if roll < 0.85:
        return f"{local.replace('.', ' ', 1) if '.' in local else local + ' '}@{domain}"
    return f"{local}@{domain.replace('.', '..', 1)}"


def invalid_phone(phone: str, rng: random.Random) -> str:
    """Return an impossible variant of a formatted phone number."""
    roll = rng.random()
    if roll < 0.5:
        return phone[:-1]
    if roll < 0.75:
        return phone[: max(4, len(phone) // 2)]
    return phone + "12"


def _case_variant(first: str, last: str, rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.35:
        return first, last.upper()
    if roll < 0.55:
        return first.upper(), last.upper()
    if roll < 0.7:
        return first.lower(), last.lower()
    return strip_accents(first), strip_accents(last)


class Renderer:
    """Turn people into per-record identity values, applying the noise options."""

    def __init__(self, *, rng: random.Random, noise: NoiseOptions) -> None:
        self._rng = rng
        self._noise = noise

    def render(
        self,
        person: Person,
        *,
        profile: SourceProfile,
        created: int,
        later_record: bool,
        use_email2: bool,
        address_ts: int,
    ) -> Identity:
        """Return the identity values of one record of `person` created at `created`."""
        rng = self._rng
        noise = self._noise
        latin = person.country.cjk and rng.random() < profile.p_latin
        identity = Identity(
            first=person.first[1] if latin else person.first[0],
            last=person.last[1] if latin else person.last[0],
            email=person.email if rng.random() < profile.p_email else "",
            alt_email="",
            phone="",
            landline="",
            birth=person.birth if rng.random() < profile.p_birth else None,
            address=None,
            latin=latin,
            email_optin=person.email_optin,
            sms_optin=person.sms_optin,
        )
        # Case games need letters: native CJK names have none.
        typeable = latin or not person.country.cjk
        if typeable and rng.random() < noise.format_variant:
            identity.first, identity.last = _case_variant(identity.first, identity.last, rng)
        if use_email2 and person.email2:
            if identity.email and rng.random() < 0.5:
                identity.alt_email = person.email2
            else:
                identity.email = person.email2
        self._phones(identity, person, profile)
        if rng.random() < profile.p_address:
            # Records typed before the move carry the old address.
            before_move = person.old_address is not None and created < address_ts
            identity.address = person.old_address if before_move else person.address

        if later_record and rng.random() < noise.typo:
            self._typo(identity, typeable)
        if rng.random() < noise.swapped_names:
            identity.first, identity.last = identity.last, identity.first
        if rng.random() < noise.missing_field:
            self._drop_fields(identity)
        if not identity.email and not identity.phone:
            # A record always keeps something to reach the person by.
            identity.email = person.email
        if rng.random() < noise.invalid_value:
            self._break_value(identity, person)

        if person.optin_flip_ts and created >= person.optin_flip_ts:
            identity.email_optin = not identity.email_optin
        identity.sms_optin = identity.sms_optin and bool(identity.phone)
        return identity

    def _phones(self, identity: Identity, person: Person, profile: SourceProfile) -> None:
        rng = self._rng
        plan = person.country.phone
        if person.mobile and rng.random() < profile.p_phone:
            digits = person.mobile
            if rng.random() < self._noise.format_variant:
                fmt = plan.variant_fmts[int(rng.random() * len(plan.variant_fmts))]
                identity.phone = fmt.format(*digits)
            elif profile.phone_e164:
                identity.phone = plan.format_e164(digits)
            else:
                identity.phone = plan.national_fmt.format(*digits)
        if person.landline and rng.random() < profile.p_landline:
            identity.landline = plan.national_fmt.format(*person.landline)

    def _typo(self, identity: Identity, typeable: bool) -> None:
        rng = self._rng
        roll = rng.random()
        if identity.email and (roll < 0.35 or not typeable):
            identity.email = email_typo(identity.email, rng)
        elif roll < 0.7 and typeable:
            identity.last = typo(identity.last, rng)
        elif typeable:
            identity.first = typo(identity.first, rng)

    def _drop_fields(self, identity: Identity) -> None:
        rng = self._rng
        for _ in range(2 if rng.random() < 0.3 else 1):
            roll = rng.random()
            if roll < 0.3:
                identity.phone = ""
            elif roll < 0.5:
                identity.birth = None
            elif roll < 0.7:
                identity.address = None
            elif roll < 0.85:
                identity.email = ""
            else:
                identity.first = ""

    def _break_value(self, identity: Identity, person: Person) -> None:
        rng = self._rng
        roll = rng.random()
        if identity.email and roll < 0.4:
            identity.email = invalid_email(identity.email, rng)
        elif identity.phone and roll < 0.75:
            identity.phone = invalid_phone(identity.phone, rng)
        else:
            year, _, day = identity.birth or person.birth
            identity.birth = (year, 2, 30) if rng.random() < 0.5 else (year, 13, day)

"""Web sign-up form submissions and tracked interactions, one JSON object per line."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import IO, Any

from amigo.synth.catalog import Store
from amigo.synth.geo import COUNTRIES, COUNTRY_NAMES, ENGLISH_NAMES, LOCALE_REGION
from amigo.synth.names import Weighted
from amigo.synth.options import NoiseOptions
from amigo.synth.people import Person
from amigo.synth.records import Identity, SourceProfile
from amigo.synth.shopify import dumps
from amigo.synth.timefmt import DAY, iso_date, iso_local, iso_utc

# Per form: what it asks for, as a source profile (the chance each field is filled).
FORM_PROFILES: dict[str, SourceProfile] = {
    "newsletter": SourceProfile(1.0, 0.0, 0.0, 0.0, 0.0, 0.5, phone_e164=False),
    "contact": SourceProfile(1.0, 0.5, 0.0, 0.0, 0.0, 0.5, phone_e164=False),
    "event": SourceProfile(1.0, 0.7, 0.0, 0.0, 0.6, 0.5, phone_e164=False),
    "account": SourceProfile(1.0, 0.6, 0.0, 0.7, 0.7, 0.4, phone_e164=False),
}
FORMS = Weighted(list(FORM_PROFILES), [50, 15, 10, 25])
_CONSENT_PREFIX = {"newsletter": "nl", "contact": "contact", "event": "event", "account": "acct"}
_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/137.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
    "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
)
# Documentation address ranges (RFC 5737, RFC 3849): realistic shape, nobody's address.
_IPV4_BLOCKS = ("192.0.2.", "198.51.100.", "203.0.113.")

INTERACTION_TYPES = Weighted(
    ["email_open", "email_click", "page_view", "store_visit", "call", "chat", "appointment"],
    [40, 12, 30, 6, 3, 4, 5],
)
_CHANNEL = {
    "email_open": "email",
    "email_click": "email",
    "page_view": "web",
    "store_visit": "store",
    "call": "phone",
    "chat": "web",
    "appointment": "store",
}
_PAGES = (
    "/",
    "/new-arrivals",
    "/women/knitwear",
    "/men/knitwear",
    "/men/coats",
    "/women/coats",
    "/ami-de-coeur",
    "/t-shirts",
    "/shoes",
    "/bags",
    "/sale",
    "/stores",
)
_CALL_TEXTS = (
    "Asked whether a size is available in store",
    "Follow-up on a repair request",
    "Question about a delivery delay",
    "Wants to reserve an item for Saturday",
    "Called back about an exchange",
)
_CHAT_TEXTS = (
    "Which size should I take? I usually wear M",
    "Is the wool coat restocked soon?",
    "Can I return an online order in store?",
    "Do you ship to my country?",
    "My discount code does not work",
)
_APPOINTMENT_TEXTS = (
    "Private shopping appointment",
    "Tailoring fitting",
    "Personal styling session",
    "Pick-up of a reserved item",
)


def country_text(rng: random.Random, code: str, language: str, variant: float) -> str:
    """Return how a visitor writes their country: usually its name in their language."""
    if rng.random() >= variant:
        return COUNTRY_NAMES[language][code]
    roll = rng.random()
    if roll < 0.4:
        return code
    if roll < 0.65:
        return ENGLISH_NAMES[code]
    if roll < 0.8:
        synonyms = COUNTRIES[code].synonyms
        return rng.choice(synonyms) if synonyms else COUNTRY_NAMES[language][code].upper()
    if roll < 0.9:
        return COUNTRY_NAMES[language][code].lower()
    return COUNTRIES[code].alpha3


class WebformsWriter:
    """Write web-form submissions and tracked interactions."""

    def __init__(
        self,
        *,
        rng: random.Random,
        noise: NoiseOptions,
        submissions_out: IO[bytes],
        interactions_out: IO[bytes],
        stores: Sequence[Store],
    ) -> None:
        self._rng = rng
        self._noise = noise
        self._submissions_out = submissions_out
        self._interactions_out = interactions_out
        self._stores = {s.store_id: s for s in stores}
        self._store_ids = [s.store_id for s in stores]
        self._submission_number = 0
        self._interaction_number = 0
        self.submission_count = 0
        self.interaction_count = 0

    def new_submission_id(self) -> str:
        """Reserve the id of the next submission."""
        self._submission_number += 1
        return f"wf-{self._submission_number:08d}"

    def write_submission(
        self,
        *,
        submission_id: str,
        form: str,
        person: Person,
        identity: Identity,
        ts: int,
    ) -> None:
        """Write one form submission."""
        rng = self._rng
        variant = self._noise.format_variant
        # Some visitors use the English or French site whatever their country, and
        # then name their country in that language ("Allemagne", "Royaume-Uni").
        roll = rng.random()
        language = person.language if roll < 0.8 else "en" if roll < 0.92 else "fr"
        region = person.country.code if language == person.language else LOCALE_REGION[language]
        birth_date = None
        if identity.birth is not None:
            year, month, day = identity.birth
            if rng.random() < variant:
                birth_date = f"{day:02d}/{month:02d}/{year:04d}"
            else:
                birth_date = f"{year:04d}-{month:02d}-{day:02d}"
        address = identity.address
        city = postal_code = None
        if address is not None:
            city = address.city.name_latin if identity.latin else address.city.name
            postal_code = address.zip_code
        asks_country = form != "newsletter" or rng.random() < 0.6
        country = (
            country_text(rng, person.country.code, language, variant) if asks_country else None
        )
        email_marketing = rng.random() < 0.92 if form == "newsletter" else identity.email_optin
        date = iso_date(ts // DAY)
        version = f"{_CONSENT_PREFIX[form]}-{date[:4]}-{'01' if date[5:7] < '07' else '07'}"
        obj: dict[str, Any] = {
            "submission_id": submission_id,
            "form": form,
            "submitted_at": iso_local(ts, person.zone),
            "locale": f"{language}-{region}",
            "fields": {
                "email": identity.email or None,
                "first_name": identity.first or None,
                "last_name": (identity.last or None) if form != "newsletter" else None,
                "phone": identity.phone or None,
                "birth_date": birth_date,
                "postal_code": postal_code,
                "city": city,
                "country": country,
            },
            "consents": {
                "email_marketing": email_marketing,
                "sms_marketing": identity.sms_optin,
            },
            "consent_text_version": version,
            "ip": self._ip(),
            "user_agent": _USER_AGENTS[int(rng.random() * len(_USER_AGENTS))],
        }
        self._submissions_out.write(dumps(obj))
        self.submission_count += 1

    def write_bad_submission(self, ts: int) -> None:
        """Write a submission nobody can be identified from: the loader must reject it."""
        obj: dict[str, Any] = {
            "submission_id": self.new_submission_id(),
            "form": "newsletter",
            "submitted_at": iso_utc(ts),
            "locale": "fr-FR",
            "fields": {
                "email": "not-an-email",
                "first_name": None,
                "last_name": None,
                "phone": None,
                "birth_date": None,
                "postal_code": None,
                "city": None,
                "country": None,
            },
            "consents": {"email_marketing": True, "sms_marketing": False},
            "consent_text_version": "nl-2025-01",
            "ip": self._ip(),
            "user_agent": _USER_AGENTS[0],
        }
        self._submissions_out.write(dumps(obj))
        self.submission_count += 1

    def _ip(self) -> str:
        rng = self._rng
        if rng.random() < 0.15:
            return f"2001:db8::{int(rng.random() * 65536):x}:{int(rng.random() * 65536):x}"
        return f"{_IPV4_BLOCKS[int(rng.random() * 3)]}{1 + int(rng.random() * 254)}"

    def write_interactions(
        self,
        *,
        person: Person,
        refs: Sequence[tuple[str, str]],
        store_refs: Sequence[tuple[str, str]],
        count: int,
        start: int,
        end: int,
    ) -> None:
        """Write `count` interactions of a person, each naming one of the person's records."""
        rng = self._rng
        out = self._interactions_out
        span = max(end - start, 3600)
        # People far from any store visit the flagship when in Paris.
        home = person.home_store or self._store_ids[0]
        for _ in range(count):
            kind = INTERACTION_TYPES.draw(rng)
            ts = start + int(rng.random() * span)
            in_store = kind in ("store_visit", "appointment")
            pool = store_refs if in_store and store_refs else refs
            source, source_id = pool[int(rng.random() * len(pool))]
            self._interaction_number += 1
            campaign, text, properties = self._details(kind, ts, home)
            out.write(
                dumps(
                    {
                        "interaction_id": f"ix-{self._interaction_number:09d}",
                        "type": kind,
                        "channel": _CHANNEL[kind],
                        "occurred_at": iso_utc(ts),
                        "campaign": campaign,
                        "text": text,
                        "customer": {"source": source, "id": source_id},
                        "properties": properties,
                    }
                )
            )
        self.interaction_count += count

    def _details(
        self, kind: str, ts: int, home: str
    ) -> tuple[str | None, str | None, dict[str, Any]]:
        rng = self._rng
        campaign: str | None = None
        text: str | None = None
        properties: dict[str, Any]
        if kind == "email_open":
            campaign = f"NL-{iso_date(ts // DAY)[:7]}"
            properties = {"client": "Apple Mail" if rng.random() < 0.5 else "Gmail"}
        elif kind == "email_click":
            campaign = f"NL-{iso_date(ts // DAY)[:7]}"
            page = _PAGES[int(rng.random() * len(_PAGES))]
            properties = {"url": f"https://www.ami.example{page}"}
        elif kind == "page_view":
            properties = {"path": _PAGES[int(rng.random() * len(_PAGES))]}
        elif kind == "chat":
            text = _CHAT_TEXTS[int(rng.random() * len(_CHAT_TEXTS))]
            properties = {"agent": "bot" if rng.random() < 0.6 else "human"}
        elif kind == "call":
            text = _CALL_TEXTS[int(rng.random() * len(_CALL_TEXTS))]
            properties = {"store_id": home, "duration_s": 30 + int(rng.random() * 900)}
        else:
            properties = {"store_id": home}
            if kind == "appointment":
                text = _APPOINTMENT_TEXTS[int(rng.random() * len(_APPOINTMENT_TEXTS))]
                staff = self._stores[home].associates
                properties["associate_id"] = staff[int(rng.random() * len(staff))].salesperson_id
        return campaign, text, properties

    def write_bad_interaction(self, ts: int) -> None:
        """Write an interaction naming a customer no source has: the loader must reject it."""
        self._interaction_number += 1
        obj = {
            "interaction_id": f"ix-{self._interaction_number:09d}",
            "type": "page_view",
            "channel": "web",
            "occurred_at": iso_utc(ts),
            "campaign": None,
            "text": None,
            "customer": {"source": "shopify", "id": f"99{self._interaction_number:011d}"},
            "properties": {"path": "/"},
        }
        self._interactions_out.write(dumps(obj))
        self.interaction_count += 1

"""What the public pages do: unsubscribe, the preference center, double opt-in confirmation.

Each flow first verifies its signed link (consent/links.py), then acts through
the ledger's one action, ``record_statement``, with the page's proof (wording
version, channel, IP address and user agent). The pages themselves
(amigo.web) only translate HTTP to these calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from amigo.consent.links import (
    ConsentLink,
    InvalidLinkError,
    LinkAction,
    link_secret,
    link_url,
    read_link,
    sign_link,
)
from amigo.consent.models import ConsentEvent, ConsentStatus
from amigo.consent.schemas import CurrentConsent
from amigo.consent.service import PURPOSES, current_consents, holder_of, record_statement
from amigo.core.config import ConsentSettings
from amigo.core.errors import InvalidInputError
from amigo.profiles.models import GoldenCustomer

# The wording the pages show, versioned: a change of text is a new version (the proof).
PREFERENCES_WORDING = "preferences-2026-12"
UNSUBSCRIBE_WORDING = "unsubscribe-2026-12"
CONFIRMATION_WORDING = "double-opt-in-2026-12"


@dataclass(frozen=True)
class Visitor:
    """Who is on the page, as far as the request tells (kept as proof)."""

    ip: str | None = None
    user_agent: str | None = None

    def proof(self, wording: str, **more: object) -> dict[str, object]:
        """Return the proof of a statement made on a page."""
        return {"wording_version": wording, "ip": self.ip, "user_agent": self.user_agent, **more}


@dataclass(frozen=True)
class PagePerson:
    """The person a valid link is about, as a page greets them."""

    customer_id: int  # the active profile
    external_id: str
    first_name: str | None
    language: str | None


@dataclass(frozen=True)
class Outcome:
    """What a page action did."""

    person: PagePerson
    purpose: str | None
    changed: tuple[str, ...]  # purposes whose statement was recorded
    already: bool = False  # nothing to do: already unsubscribed, already confirmed


def _person(session: Session, external_id: str) -> PagePerson:
    row = session.execute(
        select(GoldenCustomer.id).where(GoldenCustomer.external_id == external_id)
    ).first()
    if row is None:
        # A genuine signature over a profile that no longer exists (erased): as invalid.
        raise InvalidLinkError("this link is not valid any more: its profile does not exist")
    active = _active_profile(session, int(row.id))
    return PagePerson(active.id, active.external_id, active.first_name, active.preferred_language)


def _active_profile(session: Session, customer_id: int) -> GoldenCustomer:
    """Return the active profile a profile lives in (NotFoundError when there is none)."""
    return session.get_one(GoldenCustomer, holder_of(session=session, customer_id=customer_id))


def _read(token: str, action: LinkAction, settings: ConsentSettings, now: datetime) -> ConsentLink:
    valid_for = (
        timedelta(hours=settings.confirmation_hours)
        if action is LinkAction.CONFIRM
        else timedelta(days=settings.link_days)
    )
    return read_link(
        token, action=action, secret=link_secret(settings), valid_for=valid_for, now=now
    )


def page_link(
    *,
    session: Session,
    customer_id: int,
    action: LinkAction,
    settings: ConsentSettings,
    purpose: str | None = None,
    base_url: str | None = None,
) -> str:
    """Return the signed address of a profile's unsubscribe or preference center page.

    ``base_url`` "" gives a path, for a link from one public page to another.
    """
    if action is LinkAction.CONFIRM:
        raise InvalidInputError("a confirmation link comes from request_confirmation")
    if action is LinkAction.UNSUBSCRIBE and purpose not in PURPOSES:
        raise InvalidInputError(
            f"an unsubscribe link needs a purpose: one of {', '.join(PURPOSES)}"
        )
    customer = _active_profile(session, customer_id)
    token = sign_link(
        ConsentLink(action, customer.external_id, purpose), secret=link_secret(settings)
    )
    base = settings.public_base_url if base_url is None else base_url
    return link_url(base, action, token, language=customer.preferred_language)


def request_confirmation(
    *,
    session: Session,
    customer_id: int,
    purpose: str,
    channel: str,
    settings: ConsentSettings,
    now: datetime,
    visitor: Visitor | None = None,
) -> str:
    """Record a pending statement and return its signed, expiring confirmation link.

    Pending is not consent: the person consents when they follow the link.
    A person who already consents is not asked again (it would suspend their consent).
    """
    current = current_consents(session=session, customer_id=customer_id)
    if purpose in current and current[purpose].allows_contact:
        raise InvalidInputError(
            f"customer {customer_id} already consents to {purpose} ({current[purpose].status}): "
            "nothing to confirm",
            code="already_consents",
        )
    statement_id, _state = record_statement(
        session=session,
        customer_id=customer_id,
        purpose=purpose,
        status=ConsentStatus.PENDING.value,
        channel=channel,
        actor="person",
        now=now,
        proof=(visitor or Visitor()).proof(CONFIRMATION_WORDING),
    )
    customer = _active_profile(session, customer_id)
    token = sign_link(
        ConsentLink(LinkAction.CONFIRM, customer.external_id, purpose, statement_id),
        secret=link_secret(settings),
    )
    return link_url(
        settings.public_base_url, LinkAction.CONFIRM, token, language=customer.preferred_language
    )


def _confirmation(
    session: Session, token: str, settings: ConsentSettings, now: datetime
) -> tuple[PagePerson, ConsentEvent, bool]:
    """Return the person, the pending statement a link confirms, and whether it already was."""
    link = _read(token, LinkAction.CONFIRM, settings, now)
    person = _person(session, link.customer)
    pending = session.get(ConsentEvent, link.statement_id) if link.statement_id else None
    if (
        pending is None
        or pending.status != ConsentStatus.PENDING
        or pending.purpose != link.purpose
    ):
        raise InvalidLinkError("this link is not valid: it confirms no pending subscription")
    confirmations = session.scalars(
        select(ConsentEvent).where(
            ConsentEvent.customer_id == pending.customer_id,
            ConsentEvent.source_id.is_(None),
            ConsentEvent.purpose == pending.purpose,
            ConsentEvent.status == ConsentStatus.CONFIRMED,
            ConsentEvent.channel == "double_opt_in",
        )
    )
    return person, pending, any(c.proof.get("confirms") == pending.id for c in confirmations)


def confirmation_view(
    *, session: Session, token: str, settings: ConsentSettings, now: datetime
) -> tuple[PagePerson, str, bool]:
    """Return whom a confirmation link is about, its purpose, and whether it was confirmed."""
    person, pending, confirmed = _confirmation(session, token, settings, now)
    return person, str(pending.purpose), confirmed


def confirm_subscription(
    *, session: Session, token: str, settings: ConsentSettings, now: datetime, visitor: Visitor
) -> Outcome:
    """Confirm the pending statement a confirmation link names; a second time changes nothing."""
    person, pending, confirmed = _confirmation(session, token, settings, now)
    if confirmed:
        return Outcome(person, str(pending.purpose), (), already=True)
    record_statement(
        session=session,
        customer_id=person.customer_id,
        purpose=pending.purpose,
        status=ConsentStatus.CONFIRMED.value,
        channel="double_opt_in",
        actor="person",
        now=now,
        proof=visitor.proof(CONFIRMATION_WORDING, confirms=pending.id),
    )
    return Outcome(person, str(pending.purpose), (str(pending.purpose),))


def unsubscribe_view(
    *, session: Session, token: str, settings: ConsentSettings, now: datetime
) -> tuple[PagePerson, CurrentConsent]:
    """Return whom an unsubscribe link is about and their current state for its purpose."""
    link = _read(token, LinkAction.UNSUBSCRIBE, settings, now)
    if link.purpose not in PURPOSES:
        raise InvalidLinkError("this link is not valid: it names no purpose")
    person = _person(session, link.customer)
    return person, current_consents(session=session, customer_id=person.customer_id)[link.purpose]


def unsubscribe(
    *, session: Session, token: str, settings: ConsentSettings, now: datetime, visitor: Visitor
) -> Outcome:
    """Withdraw the purpose an unsubscribe link names (once; again is a no-op)."""
    person, current = unsubscribe_view(session=session, token=token, settings=settings, now=now)
    if current.status == ConsentStatus.WITHDRAWN.value:
        return Outcome(person, current.purpose, (), already=True)
    record_statement(
        session=session,
        customer_id=person.customer_id,
        purpose=current.purpose,
        status=ConsentStatus.WITHDRAWN.value,
        channel="unsubscribe_link",
        actor="person",
        now=now,
        proof=visitor.proof(UNSUBSCRIBE_WORDING),
    )
    return Outcome(person, current.purpose, (current.purpose,))


def preferences_view(
    *, session: Session, token: str, settings: ConsentSettings, now: datetime
) -> tuple[PagePerson, dict[str, CurrentConsent]]:
    """Return whom a preference link is about and their state for every purpose."""
    person = _person(session, _read(token, LinkAction.PREFERENCES, settings, now).customer)
    return person, current_consents(session=session, customer_id=person.customer_id)


def save_preferences(
    *,
    session: Session,
    token: str,
    chosen: Iterable[str],
    settings: ConsentSettings,
    now: datetime,
    visitor: Visitor,
) -> Outcome:
    """Grant the ticked purposes and withdraw the unticked ones that were consented to."""
    person, current = preferences_view(session=session, token=token, settings=settings, now=now)
    wanted = set(chosen)
    unknown = wanted - set(PURPOSES)
    if unknown:
        raise InvalidInputError(
            f"unknown purposes: {', '.join(sorted(unknown))}", code="unknown_purpose"
        )
    changed = []
    for purpose, state in current.items():
        if purpose in wanted and not state.allows_contact:
            status = ConsentStatus.GRANTED
        elif purpose not in wanted and (state.allows_contact or state.status == "pending"):
            status = ConsentStatus.WITHDRAWN
        else:
            continue
        record_statement(
            session=session,
            customer_id=person.customer_id,
            purpose=purpose,
            status=status.value,
            channel="preference_center",
            actor="person",
            now=now,
            proof=visitor.proof(PREFERENCES_WORDING),
        )
        changed.append(purpose)
    return Outcome(person, None, tuple(changed))

"""Profile enrichment pushed into Cegid Y2: golden id, tier, opt-ins, usual store, associate.

For each golden profile, :func:`plan_profile` computes what AMIgo wants each
of its Y2 customers (identity links ``cegid``/CustomerId) to hold, field by
field, and decides per field (:func:`decide`) whether to send it:

- a value Y2 already holds (its last record as the inbound sync stored it)
  is not sent; when it is the value AMIgo wrote itself (remembered in
  ``cegid_outbound_value``) it is recognised as the echo of that write;
- a value AMIgo sent that Y2 has not yet sent back is not sent again;
- when Y2 changed the field more recently than AMIgo's value was decided,
  Y2's newer change wins and the field is not overwritten; at equal times
  the source priority (Cegid > Shopify > web forms) breaks the tie;
- AMIgo never blanks a Y2 field, and never writes ``AskCustomer`` (which
  states nothing) over a consent Y2 holds.

:func:`push_profile` sends what is left through UpdateCustomer, one call per
Y2 customer, or AddNewCustomer for a profile with a preferred store and no Y2
customer when ``AMIGO_CEGID_OUTBOUND_CREATE`` is on (the CustomerId Y2 gives
becomes a new identity link, so the next run updates it). A call that fails
every retry, or that Y2 refuses, becomes a dead letter with what would have
been sent. The batch (:func:`run_push`) and the event consumer
(:func:`outbound_consumer`) both go through :func:`push_profile`.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pycountry
from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.orm import Session

from amigo.connectors.cegid.fields import (
    ASSOCIATE_COLUMN,
    OPTIN_COLUMNS,
    STORE_COLUMN,
    TIER_COLUMN,
    Y2_OPTIN,
    Outcome,
    Sent,
    Wanted,
    decide,
    enrichment_columns,
    golden_id_column,
    same_value,
    source_priority,
)
from amigo.connectors.cegid.soap import CegidFaultError, Y2Client
from amigo.connectors.models import CegidOutboundValue, DeadLetterStatus
from amigo.connectors.resilience import PeerUnavailableError
from amigo.connectors.state import (
    add_dead_letter,
    dead_letter_payload,
    load_checkpoint,
    resolve_dead_letter,
    save_breaker,
    save_checkpoint,
    sync_failed,
    sync_started,
)
from amigo.consent.models import ConsentState
from amigo.consent.service import consent_history, current_consents
from amigo.core.clock import utcnow
from amigo.core.config import CegidSettings
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.consumers import CloudEvent, idempotent
from amigo.identity.models import IdentityLink
from amigo.ingest.models import SourceSystem
from amigo.ingest.service import applied_payloads
from amigo.profiles.models import (
    CustomerAssociate,
    CustomerStatus,
    CustomerStore,
    GoldenCustomer,
    StoreRelation,
)

CONNECTOR = "cegid"
STREAM = "customers-out"
CONSUMER = "cegid-outbound"
UPDATE = "UpdateCustomer"
ADD = "AddNewCustomer"
LINK_RULE = "cegid-outbound"

# Fields a customer.updated must name for the consumer to act.
_ANNOUNCED = frozenset({"tier", "preferred_store_id"})
_CHUNK = 100


# --------------------------------------------------------------------------- what AMIgo wants


def _at(lineage: Mapping[str, Any] | None, default: datetime) -> datetime:
    raw = (lineage or {}).get("at")
    if not raw:
        return default
    parsed = datetime.fromisoformat(str(raw))
    return parsed if parsed.tzinfo else default


def _holder(session: Session, customer: GoldenCustomer) -> GoldenCustomer | None:
    """Return the active profile holding this one (through merges), None if erased."""
    seen = {customer.id}
    while customer.status == CustomerStatus.MERGED and customer.merged_into_id is not None:
        target = session.get(GoldenCustomer, customer.merged_into_id)
        if target is None or target.id in seen:
            return None
        seen.add(target.id)
        customer = target
    return customer if customer.status == CustomerStatus.ACTIVE else None


def _usual_store(session: Session, customer: GoldenCustomer) -> tuple[str, datetime, str] | None:
    lineage = (customer.lineage or {}).get("preferred_store_id")
    if customer.preferred_store_id:
        source = str((lineage or {}).get("source") or "amigo")
        return customer.preferred_store_id, _at(lineage, customer.updated_at), source
    row = session.execute(
        select(CustomerStore.store_id, CustomerStore.since)
        .where(
            CustomerStore.customer_id == customer.id,
            CustomerStore.relation == StoreRelation.PREFERRED,
        )
        .order_by(CustomerStore.since.desc(), CustomerStore.store_id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return str(row.store_id), row.since or customer.updated_at, "amigo"


def wanted_values(*, session: Session, customer: GoldenCustomer, slot: int) -> dict[str, Wanted]:
    """Return the enrichment of one active profile: each Y2 column and the value AMIgo wants."""
    wanted = {golden_id_column(slot): Wanted(customer.external_id, customer.created_at, "amigo")}
    lineage = customer.lineage or {}
    if "tier" in lineage and customer.tier:  # the column's default is not a source's say
        wanted[TIER_COLUMN] = Wanted(
            str(customer.tier).upper(),
            _at(lineage["tier"], customer.updated_at),
            str(lineage["tier"].get("source") or "amigo"),
        )
    store = _usual_store(session, customer)
    if store is not None:
        wanted[STORE_COLUMN] = Wanted(*store)
    associate = session.execute(
        select(CustomerAssociate.associate_id, CustomerAssociate.assigned_since)
        .where(CustomerAssociate.customer_id == customer.id)
        .order_by(CustomerAssociate.assigned_since.desc(), CustomerAssociate.associate_id)
        .limit(1)
    ).first()
    if associate is not None:
        wanted[ASSOCIATE_COLUMN] = Wanted(
            str(associate.associate_id), associate.assigned_since or customer.updated_at, "cegid"
        )
    states = current_consents(session=session, customer_id=customer.id)
    deciders: dict[int, str] | None = None
    for purpose, column in OPTIN_COLUMNS.items():
        state = states[purpose]
        source = "amigo"
        if state.decided_by:
            if deciders is None:
                history = consent_history(session=session, customer_id=customer.id)
                deciders = {entry.id: entry.source_system for entry in history}
            sources = [deciders.get(i, "amigo") for i in state.decided_by]
            source = min(sources, key=source_priority)
        wanted[column] = Wanted(Y2_OPTIN[state.status], state.since or customer.created_at, source)
    return wanted


# --------------------------------------------------------------------------- planning


@dataclass
class CardPlan:
    """What goes to one Y2 customer (``customer_ref`` None: a customer to create)."""

    customer_ref: str | None
    send: dict[str, Wanted]
    outcomes: dict[str, Outcome]


@dataclass
class ProfilePlan:
    """The enrichment of one profile, per Y2 customer."""

    customer_id: int
    external_id: str
    cards: list[CardPlan]
    wanted: dict[str, Wanted] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)  # AddNewCustomer only


def _cards(session: Session, customer_id: int) -> list[IdentityLink]:
    return list(
        session.scalars(
            select(IdentityLink)
            .where(
                IdentityLink.customer_id == customer_id,
                IdentityLink.source_system == SourceSystem.CEGID,
                IdentityLink.closed.is_(False),
            )
            .order_by(IdentityLink.source_id)
        )
    )


def _sent(session: Session, refs: Iterable[str]) -> dict[tuple[str, str], Sent]:
    rows = session.execute(
        select(CegidOutboundValue).where(CegidOutboundValue.customer_ref.in_(list(refs)))
    ).scalars()
    return {(r.customer_ref, r.field): Sent(r.value, r.sent_at) for r in rows}


def _held(payload: Mapping[str, Any], column: str) -> str | None:
    value = payload.get(column)
    text = "" if value is None else str(value).strip()
    return text or None


def plan_profile(
    *, session: Session, customer_id: int, settings: CegidSettings
) -> ProfilePlan | None:
    """Return what to send for one profile, None when it is not active or has nothing to do."""
    found = session.get(GoldenCustomer, customer_id)
    customer = None if found is None else _holder(session, found)
    if customer is None:
        return None
    wanted = wanted_values(
        session=session, customer=customer, slot=settings.outbound_golden_id_slot
    )
    links = _cards(session, customer.id)
    plan = ProfilePlan(customer.id, customer.external_id, [], wanted)
    if not links:
        if not settings.outbound_create or STORE_COLUMN not in wanted:
            return None
        plan.cards.append(CardPlan(None, dict(wanted), dict.fromkeys(wanted, Outcome.SEND)))
        plan.identity = _identity(customer)
        return plan
    refs = [link.source_id for link in links]
    payloads = applied_payloads(
        session.connection(), system="cegid", entity="customer", source_ids=refs
    )
    sent = _sent(session, refs)
    for link in links:
        payload = payloads.get(link.source_id, {})
        card = CardPlan(link.source_id, {}, {})
        for column, value in wanted.items():
            outcome = decide(
                column,
                value,
                held=_held(payload, column),
                held_at=link.observed_at,
                sent=sent.get((link.source_id, column)),
            )
            card.outcomes[column] = outcome
            if outcome is Outcome.SEND:
                card.send[column] = value
        plan.cards.append(card)
    return plan


def _identity(customer: GoldenCustomer) -> dict[str, Any]:
    """Return who the person is, as AddNewCustomer takes it (a new Y2 customer needs a name)."""
    data: dict[str, Any] = {
        "FirstName": customer.first_name,
        "LastName": customer.last_name,
        "LanguageId": customer.preferred_language.upper() if customer.preferred_language else None,
    }
    if customer.email:
        data["EmailData"] = {"Email": customer.email}
    if customer.phone:
        data["PhoneData"] = {"CellularPhoneNumber": customer.phone}
    if customer.birth_date:
        born = customer.birth_date
        data["BirthDateData"] = {
            "BirthDateDay": born.day,
            "BirthDateMonth": born.month,
            "BirthDateYear": born.year,
        }
    if customer.address_line1 or customer.city:
        country = pycountry.countries.get(alpha_2=customer.country) if customer.country else None
        data["AddressData"] = {
            "AddressLine1": customer.address_line1,
            "AddressLine2": customer.address_line2,
            "ZipCode": customer.postal_code,
            "City": customer.city,
            "CountryId": country.alpha_3 if country is not None else None,
        }
    return {name: value for name, value in data.items() if value is not None}


def customer_input(values: Mapping[str, str], slot: int) -> dict[str, Any]:
    """Return a CustomerInputData (as zeep takes it) holding these Y2 column values."""
    data: dict[str, Any] = {}
    texts = []
    for column, value in values.items():
        if column.startswith("UserDefinedText"):
            texts.append({"Id": int(column.removeprefix("UserDefinedText")), "Value": value})
        else:
            data[column] = value
    if texts:
        data["UserDefinedTexts"] = {"UserDefinedText": sorted(texts, key=lambda t: t["Id"])}
    return data


# --------------------------------------------------------------------------- sending


class Delivery(enum.StrEnum):
    UPDATED = "updated"
    CREATED = "created"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # Y2 refused the data: dead letter
    DEAD = "dead"  # Y2 unavailable after every retry: dead letter


@dataclass
class ProfileResult:
    """What pushing one profile did."""

    customer_id: int
    external_id: str
    delivery: Delivery
    outcomes: Counter[str] = field(default_factory=Counter)
    calls: list[tuple[str, str | None, dict[str, str]]] = field(default_factory=list)
    dead_letters: list[int] = field(default_factory=list)
    created_ref: str | None = None


def _remember(session: Session, ref: str, send: Mapping[str, Wanted], now: datetime) -> None:
    for column, value in send.items():
        row = session.get(CegidOutboundValue, (ref, column))
        if row is None:
            row = CegidOutboundValue(customer_ref=ref, field=column)
            session.add(row)
        row.value = value.value
        row.decided_at = value.decided_at
        row.sent_at = now
    session.flush()


def _link(session: Session, customer_id: int, ref: str, store: str | None, now: datetime) -> None:
    """Record the Y2 customer just created as a link of the profile: next time, an update."""
    session.add(
        IdentityLink(
            source_system=SourceSystem.CEGID,
            source_id=ref,
            customer_id=customer_id,
            rule=LINK_RULE,
            linked_at=now,
            preferred_store_id=store,
            origin="retail",
            closed=False,
            updated_at=now,
        )
    )
    session.flush()


def _payload(plan: ProfilePlan, card: CardPlan, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "customer": plan.external_id,
        "customer_id": plan.customer_id,
        "customer_ref": card.customer_ref,
        "data": data,
        "fields": {
            column: {"value": w.value, "decided_at": w.decided_at.isoformat(), "source": w.source}
            for column, w in card.send.items()
        },
    }


def _send(session: Session, client: Y2Client, payload: Mapping[str, Any], now: datetime) -> str:
    """Send one dead letter's or plan's payload; return the Y2 CustomerId written."""
    ref = payload.get("customer_ref")
    data = dict(payload["data"])
    if ref is not None:
        client.update_customer(str(ref), data)
    else:
        ref = client.add_customer(data)["CustomerId"]
        store = data.get(STORE_COLUMN)
        _link(session, int(payload["customer_id"]), ref, store, now)
    fields = {
        column: Wanted(f["value"], datetime.fromisoformat(f["decided_at"]), f["source"])
        for column, f in dict(payload["fields"]).items()
    }
    _remember(session, str(ref), fields, now)
    return str(ref)


def push_profile(
    *,
    session: Session,
    client: Y2Client | None,
    customer_id: int,
    settings: CegidSettings,
    now: datetime,
    dry_run: bool = False,
) -> ProfileResult | None:
    """Send one profile's enrichment to its Y2 customers; failed calls become dead letters.

    ``client`` None or ``dry_run``: compute only. Returns None for a profile
    that is not active or has neither a Y2 customer nor (with creation on) a store.
    """
    plan = plan_profile(session=session, customer_id=customer_id, settings=settings)
    if plan is None:
        return None
    result = ProfileResult(plan.customer_id, plan.external_id, Delivery.UNCHANGED)
    slot = settings.outbound_golden_id_slot
    for card in plan.cards:
        result.outcomes.update(card.outcomes.values())
        if not card.send:
            continue
        values = {column: w.value for column, w in card.send.items()}
        operation = UPDATE if card.customer_ref is not None else ADD
        data = customer_input(values, slot)
        if card.customer_ref is None:
            data = {**plan.identity, **data}
        result.calls.append((operation, card.customer_ref, values))
        done = Delivery.UPDATED if card.customer_ref is not None else Delivery.CREATED
        if dry_run or client is None:
            result.delivery = done
            continue
        payload = _payload(plan, card, data)
        try:
            ref = _send(session, client, payload, now)
        except (CegidFaultError, PeerUnavailableError) as error:
            refused = isinstance(error, CegidFaultError)
            tried = 1 if refused else client.policy.attempts
            if getattr(error, "code", None) == "circuit_open":
                tried = 0  # refused at once by the open breaker: Y2 was not called
            target = (
                f"cegid:{card.customer_ref}" if card.customer_ref else f"golden:{plan.external_id}"
            )
            result.dead_letters.append(
                add_dead_letter(
                    session=session,
                    connector=CONNECTOR,
                    operation=operation,
                    target=target,
                    payload=payload,
                    error=str(error),
                    attempts=tried,
                    now=now,
                )
            )
            result.delivery = Delivery.REFUSED if refused else Delivery.DEAD
            continue
        if result.delivery is Delivery.UNCHANGED:
            result.delivery = done
        if card.customer_ref is None:
            result.created_ref = ref
    return result


# --------------------------------------------------------------------------- dead letters


def replay_dead_letter(
    *, session: Session, client: Y2Client, letter_id: int, now: datetime
) -> tuple[bool, str]:
    """Send a Cegid dead letter again: replayed on success, else kept with one more attempt."""
    letter, payload = dead_letter_payload(session=session, letter_id=letter_id)
    if letter.connector != CONNECTOR or letter.operation not in (UPDATE, ADD):
        raise InvalidInputError(
            f"dead letter {letter_id} is {letter.connector} {letter.operation}, not a Y2 push",
            code="not_a_cegid_push",
        )
    if letter.operation == ADD and _cards(session, int(payload["customer_id"])):
        resolve_dead_letter(
            session=session, letter_id=letter_id, status=DeadLetterStatus.DISCARDED, now=now
        )
        return False, "the profile has a Y2 customer now: discarded (push updates it instead)"
    try:
        ref = _send(session, client, payload, now)
    except (CegidFaultError, PeerUnavailableError) as error:
        resolve_dead_letter(
            session=session,
            letter_id=letter_id,
            status=DeadLetterStatus.DEAD,
            now=now,
            error=str(error),
        )
        return False, str(error)
    resolve_dead_letter(
        session=session, letter_id=letter_id, status=DeadLetterStatus.REPLAYED, now=now
    )
    return True, f"{letter.operation} of Y2 customer {ref} delivered"


# --------------------------------------------------------------------------- batch


def changed_profiles(*, session: Session, since: datetime | None, create: bool) -> list[int]:
    """Return the active profiles to push: those with a Y2 customer (or a store, with creation).

    ``since``: only those whose profile, consents, associate or Y2 links changed from then.
    """
    linked = exists(
        select(IdentityLink.id).where(
            IdentityLink.customer_id == GoldenCustomer.id,
            IdentityLink.source_system == SourceSystem.CEGID,
        )
    )
    stored = exists(
        select(CustomerStore.store_id).where(
            CustomerStore.customer_id == GoldenCustomer.id,
            CustomerStore.relation == StoreRelation.PREFERRED,
        )
    )
    eligible = (
        or_(linked, GoldenCustomer.preferred_store_id.is_not(None), stored) if create else linked
    )
    query = select(GoldenCustomer.id).where(
        GoldenCustomer.status == CustomerStatus.ACTIVE, eligible
    )
    if since is not None:
        query = query.where(
            or_(
                GoldenCustomer.updated_at >= since,
                GoldenCustomer.id.in_(
                    select(ConsentState.customer_id).where(ConsentState.updated_at >= since)
                ),
                GoldenCustomer.id.in_(
                    select(CustomerAssociate.customer_id).where(
                        CustomerAssociate.assigned_since >= since
                    )
                ),
                GoldenCustomer.id.in_(
                    select(IdentityLink.customer_id).where(IdentityLink.updated_at >= since)
                ),
            )
        )
    return list(session.scalars(query.order_by(GoldenCustomer.id)))


@dataclass
class PushSummary:
    """What a push run did."""

    considered: int = 0
    updated: int = 0
    created: int = 0
    unchanged: int = 0
    echoes: int = 0  # profiles whose Y2 values include AMIgo's own writes, recognised
    refused: int = 0
    dead_letters: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    since: datetime | None = None
    stopped: str | None = None  # why the run stopped early (Y2 unavailable)

    def add(self, result: ProfileResult) -> None:
        """Count one profile's result."""
        self.fields.update(result.outcomes)
        self.dead_letters += len(result.dead_letters)
        if result.delivery is Delivery.UPDATED:
            self.updated += 1
        elif result.delivery is Delivery.CREATED:
            self.created += 1
        elif result.delivery is Delivery.REFUSED:
            self.refused += 1
        elif result.delivery is Delivery.UNCHANGED:
            self.unchanged += 1
            if result.outcomes[Outcome.ECHO]:
                self.echoes += 1


def push_since(*, session: Session, since: datetime | None, all_profiles: bool) -> datetime | None:
    """Return where a push starts: everything, the date given, or the last run's start."""
    if all_profiles:
        return None
    if since is not None:
        return since
    checkpoint = load_checkpoint(session=session, connector=CONNECTOR, stream=STREAM)
    started = (checkpoint or {}).get("started_at")
    return datetime.fromisoformat(started) if started else None


def run_push(
    engine: Engine,
    *,
    client: Y2Client | None,
    settings: CegidSettings,
    since: datetime | None,
    dry_run: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_profile: Callable[[ProfileResult | None], None] | None = None,
    now: Callable[[], datetime] = utcnow,
) -> PushSummary:
    """Push every changed profile, a transaction per chunk; stop when Y2's breaker opens.

    The checkpoint (the run's start) advances only after a run that went
    through every profile: what a stopped run did not reach, the next one does.
    """
    started = now()
    summary = PushSummary(since=since)
    with unit_of_work(engine) as session:
        ids = changed_profiles(session=session, since=since, create=settings.outbound_create)
        if not dry_run:
            sync_started(session=session, connector=CONNECTOR, stream=STREAM, now=started)
    if on_total is not None:
        on_total(len(ids))
    for offset in range(0, len(ids), _CHUNK):
        with unit_of_work(engine) as session:
            for customer_id in ids[offset : offset + _CHUNK]:
                if client is not None and client.breaker.state.value == "open":
                    summary.stopped = "Y2 is unavailable: its circuit breaker opened"
                    break
                result = push_profile(
                    session=session,
                    client=client,
                    customer_id=customer_id,
                    settings=settings,
                    now=now(),
                    dry_run=dry_run,
                )
                if result is not None:
                    summary.considered += 1
                    summary.add(result)
                    if result.created_ref is not None:
                        session.commit()  # a created Y2 customer is linked before anything else
                if on_profile is not None:
                    on_profile(result)
        if summary.stopped:
            break
    if not dry_run:
        with unit_of_work(engine) as session:
            _finish_run(session, client, summary, started, now())
    return summary


def _finish_run(
    session: Session,
    client: Y2Client | None,
    summary: PushSummary,
    started: datetime,
    now: datetime,
) -> None:
    """Store the stream's breaker, and its checkpoint (a complete run) or its failure."""
    if client is not None:
        save_breaker(
            session=session, connector=CONNECTOR, stream=STREAM, state=client.breaker.state, now=now
        )
    if summary.stopped:
        sync_failed(
            session=session, connector=CONNECTOR, stream=STREAM, error=summary.stopped, now=now
        )
        return
    save_checkpoint(
        session=session,
        connector=CONNECTOR,
        stream=STREAM,
        checkpoint={"started_at": started.isoformat()},
        now=now,
        records=summary.updated + summary.created,
    )


# --------------------------------------------------------------------------- events


def event_customers(event: CloudEvent, *, create: bool = False) -> list[str]:
    """Return the golden ids an event asks to push, none when it changes nothing Y2 holds."""
    data = event.get("data") or {}
    kind = event.get("type")
    if kind == "consent.changed" and data.get("purpose") in OPTIN_COLUMNS:
        return [str(data["customer"])]
    if kind == "customer.updated" and _ANNOUNCED.intersection(data.get("fields") or ()):
        return [str(data["customer"])]
    if kind == "customer.merged":
        return [str(data["survivor"])]
    if kind == "customer.unmerged":  # each side's Y2 customers take their own profile's values
        return [str(data["survivor"]), str(data["restored"])]
    if kind == "customer.created" and create:
        return [str(data["customer"])]
    return []


def push_for_event(
    *, session: Session, client: Y2Client, event: CloudEvent, settings: CegidSettings, now: datetime
) -> list[ProfileResult]:
    """Push the profiles an event names (consent.changed, customer.updated, merges)."""
    results = []
    for external_id in event_customers(event, create=settings.outbound_create):
        customer_id = session.scalar(
            select(GoldenCustomer.id).where(GoldenCustomer.external_id == external_id)
        )
        if customer_id is None:
            continue
        result = push_profile(
            session=session, client=client, customer_id=customer_id, settings=settings, now=now
        )
        if result is not None:
            results.append(result)
    return results


def outbound_consumer(
    engine: Engine, client: Y2Client, settings: CegidSettings
) -> Callable[[CloudEvent], None]:
    """Return the bus subscriber pushing each relevant event's profile once (by event id)."""

    def apply(session: Session, event: CloudEvent) -> None:
        push_for_event(session=session, client=client, event=event, settings=settings, now=utcnow())

    handle = idempotent(engine, CONSUMER, apply)

    def consume(event: CloudEvent) -> None:
        if event_customers(event, create=settings.outbound_create):
            handle(event)

    consume.__name__ = CONSUMER
    return consume


__all__ = [
    "ADD",
    "CONNECTOR",
    "CONSUMER",
    "OPTIN_COLUMNS",
    "STREAM",
    "UPDATE",
    "Y2_OPTIN",
    "CardPlan",
    "Delivery",
    "Outcome",
    "ProfilePlan",
    "ProfileResult",
    "PushSummary",
    "Sent",
    "Wanted",
    "changed_profiles",
    "customer_input",
    "decide",
    "enrichment_columns",
    "event_customers",
    "golden_id_column",
    "outbound_consumer",
    "plan_profile",
    "push_for_event",
    "push_profile",
    "push_since",
    "replay_dead_letter",
    "run_push",
    "same_value",
    "wanted_values",
]

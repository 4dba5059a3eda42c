"""Erasure (GDPR article 17): remove a person from every place AMIgo keeps them.

Erasure is the one action that crosses every domain's tables, the way a
user deletion does in any system: it runs in one transaction, so a failure
leaves the person whole rather than half erased. What stays, and why:

- the golden profile, its links and source records remain as empty shells
  (ids only, "erased:" pseudonyms for source ids) so that the audit trail,
  the consent ledger and the request itself still point somewhere;
- orders stay for the accounts, with no customer and without the buyer's
  fields in their source payloads;
- consent ledger rows keep what was consented, when and how; their proofs
  (IP, user agent, wording shown) are blanked, the one update the ledger's
  triggers accept;
- keyed hashes of the person's ids, email, phone and name with birth date go
  on the suppression list, so that an import cannot bring them back;
- the tracking API's raw messages stay as shells (their key, so that a resend
  is still recognised, type, times and status), their payload and ids blanked;
- webhook dead letters keep the event's envelope for the record, not its data;
- Shopify webhook deliveries about the person keep their envelope (topic,
  webhook id, times, status), their body and what processing said blanked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Text, cast, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from amigo.connectors.shopify.models import ShopifyWebhook
from amigo.consent.models import ConsentEvent
from amigo.consent.service import current_consents, held_profiles, holder_of, record_consent
from amigo.core.crypto import blind_index
from amigo.core.db import table_of
from amigo.core.sql import is_one_of
from amigo.events.models import OutboxEvent, WebhookDeadLetter, WebhookDelivery
from amigo.events.service import DomainEvent, emit_events
from amigo.identity.models import (
    DistinctDecision,
    DistinctDecisionMember,
    IdentityLink,
    IdentityReference,
    MatchReview,
    MergeEvent,
    ReviewStatus,
)
from amigo.identity.snapshot import INDEX_COLUMNS
from amigo.ingest import writers
from amigo.ingest.catalog import CUSTOMER_MAPPERS, CUSTOMER_NOTICE_ENTITIES, EXPORT_FILES
from amigo.ingest.models import RawConsent, Reject, SourceRecord, ValidationIssueRecord
from amigo.ingest.prepare import canonical_json
from amigo.privacy.models import (
    PrivacyExport,
    ProcessingRestriction,
    SubjectRequest,
    SubjectRequestStep,
    SuppressionKind,
)
from amigo.privacy.suppression import (
    ORDER_CONTACT_KEYS,
    ORDER_CONTACT_SYSTEMS,
    ORDER_EMAIL_INDEX,
    add_to_list,
    keyed_hash,
    person_identifiers,
    scrub_order_payload,
    source_pseudonym,
)
from amigo.profiles.models import (
    CustomerAssociate,
    CustomerStatus,
    CustomerStore,
    GoldenCustomer,
    Interaction,
    ManualRectification,
    Order,
)
from amigo.tracking.service import erase_tracking

golden = table_of(GoldenCustomer)
links = table_of(IdentityLink)
records = table_of(SourceRecord)
outbox = table_of(OutboxEvent)

# Columns of a profile or link that say who the person is or where they live.
PERSONAL_COLUMNS = (
    "email",
    "email_match_key",
    "first_name",
    "last_name",
    "phone",
    "birth_date",
    "address_line1",
    "address_line2",
    "postal_code",
    "city",
    "region",
)
_LINK_KEY_COLUMNS = (
    "first_name_key",
    "last_name_key",
    "name_key",
    "distinct_local_part",
    *INDEX_COLUMNS,
)
_PROFILE_INDEX_COLUMNS = ("email_index", "phone_index")
_CUSTOMER_ENTITY = dict(CUSTOMER_MAPPERS.keys())  # system -> its customer entity
_ORDER_ENTITY = {s.source.value: s.entity for s in EXPORT_FILES if s.writer is writers.write_orders}
_INTERACTION_ENTITIES = [s.entity for s in EXPORT_FILES if s.writer is writers.write_interactions]


def erase_person(
    session: Session,
    *,
    customer_id: int,
    reference: str,
    actor: str,
    now: datetime,
    secret: str,
    request_id: int | None = None,
    suppress: bool = True,
    deferred: _Deferred | None = None,
) -> dict[str, Any]:
    """Erase a person everywhere and return what was done, in counts.

    ``reference``: why, as the blanked rows will say (``DSR-12``, ``retention-2026-12-04``).
    ``suppress``: put them on the suppression list (an erasure request does; the
    retention job does not, so that a customer who comes back is welcome).
    ``deferred``: leave the two table scans (guest checkouts, outbox) to
    ``erase_people``, which runs them once for many people.
    """
    connection = session.connection()
    marker = {"erased": reference}
    profile_ids = held_profiles(session=session, customer_id=customer_id)
    profiles = connection.execute(select(golden).where(golden.c.id.in_(profile_ids))).all()
    person_links = connection.execute(
        select(links).where(links.c.customer_id.in_(profile_ids))
    ).all()
    external_ids = [str(p.external_id) for p in profiles]
    strings = _personal_strings([*profiles, *person_links])

    withdrawn = _withdraw_consents(session, customer_id, actor, now, marker)
    listed = (
        add_to_list(
            connection,
            secret=secret,
            identifiers=_identifiers(connection, profiles, person_links),
            request_id=request_id,
            now=now,
        )
        if suppress
        else 0
    )
    customer_records = _erase_customer_records(connection, person_links, secret, marker)
    orders = _unlink_orders(connection, profile_ids, strings, guests=deferred is None)
    # Before the interactions go: they name the tracking messages they were made from.
    tracked = erase_tracking(
        connection,
        customer_ids=profile_ids,
        email_keys=[
            str(r.email_match_key) for r in [*profiles, *person_links] if r.email_match_key
        ],
        phones=[str(r.phone) for r in [*profiles, *person_links] if r.phone],
    )
    interactions = _erase_interactions(connection, profile_ids, marker)
    person_records = [*customer_records, *orders.record_ids, *interactions]
    rejects = _erase_rejects(connection, person_links, person_records, strings, reference)
    _erase_issues(connection, person_records)
    _blank_ledger_proofs(
        connection,
        profile_ids=profile_ids,
        person_links=person_links,
        customer_records=customer_records,
        secret=secret,
        marker=marker,
    )
    _erase_identity(
        connection,
        person_links=person_links,
        profile_ids=profile_ids,
        secret=secret,
        marker=marker,
        now=now,
    )
    _erase_profiles(connection, profile_ids, now)
    files = _erase_privacy_records(connection, profile_ids)
    if deferred is None:
        events = _erase_events(connection, external_ids, strings, marker)
    else:
        events = 0
        deferred.emails.update(_emails(strings))
        deferred.external_ids.update(external_ids)
    dead_letters = _erase_dead_letters(connection, external_ids, strings, marker)
    shopify_webhooks = _erase_shopify_webhooks(connection, person_links, strings, marker)
    holder = next(
        p for p in profiles if int(p.id) == holder_of(session=session, customer_id=customer_id)
    )
    emit_events(
        connection,
        [
            DomainEvent(
                type="customer.erased",
                subject=str(holder.external_id),
                data={
                    "customer": str(holder.external_id),
                    "profiles": external_ids,
                    "request": reference,
                    "cause": "erasure" if suppress else "retention",
                    "erased_at": now.isoformat(),
                    # What connected systems need to erase the person on their side (art. 19).
                    "sources": [
                        {"system": str(link.source_system), "id": str(link.source_id)}
                        for link in person_links
                    ],
                },
            )
        ],
        now=now,
    )
    return {
        "erased_profiles": external_ids,
        "source_records": len(person_records),
        "orders_kept_unlinked": orders.count,
        "interactions_deleted": len(interactions),
        "rejects_erased": rejects,
        "events_erased": events,
        "tracking_messages_erased": tracked,
        "dead_letters_erased": dead_letters,
        "shopify_webhooks_erased": shopify_webhooks,
        "files_deleted": files,
        "consents_withdrawn": withdrawn,
        "suppression_entries": listed,
    }


@dataclass
class _Deferred:
    """What the scans left for the end of a batch of erasures are to look for."""

    emails: set[str] = field(default_factory=set)
    external_ids: set[str] = field(default_factory=set)


def erase_people(
    session: Session,
    *,
    customer_ids: Sequence[int],
    reference: str,
    actor: str,
    now: datetime,
    secret: str,
) -> int:
    """Erase many people without suppressing them (retention), scanning the big tables once."""
    deferred = _Deferred()
    for customer_id in customer_ids:
        erase_person(session, customer_id=customer_id, reference=reference, actor=actor,
                     now=now, secret=secret, suppress=False, deferred=deferred)  # fmt: skip
    connection = session.connection()
    marker = {"erased": reference}
    guest_records = _scrub_order_records(connection, _guest_orders_of(connection, deferred.emails))
    _erase_rejects(connection, [], guest_records, [], reference)
    _erase_issues(connection, guest_records)
    for condition in is_one_of(connection, outbox.c.subject, sorted(deferred.external_ids)):
        connection.execute(
            update(outbox).where(condition, outbox.c.type != "customer.erased").values(data=marker)
        )
    return len(customer_ids)


def _guest_orders_of(connection: Connection, emails: set[str]) -> list[Any]:
    """Return the order records naming any of the emails, found by their blind index."""
    if not emails:
        return []
    indexes = sorted({blind_index(e, field=ORDER_EMAIL_INDEX) or "" for e in emails})
    found: list[Any] = []
    for condition in is_one_of(connection, records.c.contact_index, indexes):
        found += connection.execute(
            select(
                records.c.id, records.c.source_system, records.c.source_id, records.c.payload
            ).where(
                condition,
                records.c.source_system.in_(ORDER_CONTACT_SYSTEMS),
                records.c.entity.in_([_ORDER_ENTITY[s] for s in ORDER_CONTACT_SYSTEMS]),
            )
        ).all()
    # The index is over the address as given: check it is one of hers, as written.
    return [
        row
        for row in found
        if any(str(row.payload.get(key) or "").lower() in emails for key in ORDER_CONTACT_KEYS)
    ]


def _personal_strings(rows: Iterable[Any]) -> list[str]:
    """Return the person's values long enough to look for in free text (emails, phones, names)."""
    found: set[str] = set()
    for row in rows:
        for column in ("email", "email_match_key", "phone", "first_name", "last_name"):
            value = getattr(row, column, None)
            if isinstance(value, str) and len(value) >= 3:
                found.add(value)
        for column in ("address_line1", "address_line2"):
            value = getattr(row, column, None)
            if isinstance(value, str) and len(value) >= 6:
                found.add(value)
    return sorted(found, key=len, reverse=True)


def _emails(strings: Iterable[str]) -> set[str]:
    """Return the person's emails among their strings, lower case."""
    return {s.lower() for s in strings if "@" in s}


def _contacts(strings: Iterable[str]) -> list[str]:
    """Return the person's emails and E.164 phones: what free text is searched for."""
    return [s for s in strings if "@" in s or s.startswith("+")]


def sweep_text(text: str, strings: Sequence[str]) -> str:
    """Return the text with every occurrence of the person's strings replaced."""
    for value in strings:
        text = re.sub(re.escape(value), "[erased]", text, flags=re.IGNORECASE)
    return text


def _withdraw_consents(
    session: Session, customer_id: int, actor: str, now: datetime, marker: dict[str, str]
) -> list[str]:
    withdrawn = []
    for purpose, state in current_consents(session=session, customer_id=customer_id).items():
        if state.status in ("withdrawn", "never_asked"):
            continue
        record_consent(
            session=session,
            customer_id=customer_id,
            purpose=purpose,
            status="withdrawn",
            channel="erasure",
            actor=f"dpo:{actor}",
            now=now,
            proof=marker,
        )
        withdrawn.append(purpose)
    return withdrawn


def _identifiers(
    connection: Connection, profiles: Sequence[Any], person_links: Sequence[Any]
) -> list[tuple[SuppressionKind, str]]:
    found: list[tuple[SuppressionKind, str]] = []
    for link in person_links:
        found.append((SuppressionKind.SOURCE, f"{link.source_system}:{link.source_id}"))
    references = table_of(IdentityReference)
    for condition in is_one_of(connection, references.c.link_id, [int(x.id) for x in person_links]):
        for system, source_id in connection.execute(
            select(references.c.system, references.c.source_id).where(condition)
        ):
            found.append((SuppressionKind.SOURCE, f"{system}:{source_id}"))
    for row in [*profiles, *person_links]:
        found += person_identifiers(
            email_match_key=row.email_match_key,
            phone=row.phone,
            first_name=row.first_name,
            last_name=row.last_name,
            birth_date=row.birth_date,
        )
    return found


def _erase_customer_records(
    connection: Connection, person_links: Sequence[Any], secret: str, marker: dict[str, str]
) -> dict[int, str]:
    """Blank every stored version of the person's customer records; return id -> pseudonym."""
    erased: dict[int, str] = {}
    for link in person_links:
        system, source_id = str(link.source_system), str(link.source_id)
        entities = (_CUSTOMER_ENTITY[system], *CUSTOMER_NOTICE_ENTITIES.get(system, ()))
        versions = connection.execute(
            select(records.c.id, records.c.payload_hash).where(
                records.c.source_system == system,
                records.c.entity.in_(entities),
                records.c.source_id == source_id,
            )
        ).all()
        pseudonym = source_pseudonym(secret, system, source_id)
        for record_id, digest in versions:
            connection.execute(
                update(records)
                .where(records.c.id == record_id)
                .values(
                    payload=marker,
                    source_id=pseudonym,
                    payload_hash=keyed_hash(
                        secret, SuppressionKind.SOURCE, f"{pseudonym}:{digest}"
                    ),
                )
            )
            erased[int(record_id)] = pseudonym
    return erased


class _Orders:
    def __init__(self, count: int, record_ids: list[int]) -> None:
        self.count = count
        self.record_ids = record_ids


def _unlink_orders(
    connection: Connection, profile_ids: list[int], strings: Sequence[str], *, guests: bool = True
) -> _Orders:
    """Keep the person's orders for the accounts, with no customer and no buyer in the payloads."""
    orders = table_of(Order)
    keys = connection.execute(
        select(orders.c.source_system, orders.c.source_order_id).where(
            orders.c.customer_id.in_(profile_ids)
        )
    ).all()
    connection.execute(
        update(orders)
        .where(orders.c.customer_id.in_(profile_ids))
        .values(customer_id=None, customer_link_id=None)
    )
    wanted: dict[str, list[str]] = {}
    for system, order_id in keys:
        wanted.setdefault(str(system), []).append(str(order_id))
    found: list[Any] = []
    for system, order_ids in wanted.items():
        for condition in is_one_of(connection, records.c.source_id, order_ids):
            found += connection.execute(
                select(
                    records.c.id, records.c.source_system, records.c.source_id, records.c.payload
                ).where(
                    records.c.source_system == system,
                    records.c.entity == _ORDER_ENTITY[system],
                    condition,
                )
            ).all()
    if guests:
        found += _guest_orders(connection, strings)
    return _Orders(len(keys), _scrub_order_records(connection, found))


def _scrub_order_records(connection: Connection, found: Sequence[Any]) -> list[int]:
    """Remove the buyer from order records; return their ids.

    The scrubbed payload's hash is what a later import of the order computes
    (ingest/screening.py), so that it finds the order unchanged.
    """
    touched: list[int] = []
    unique = {int(r[0]): r for r in found}  # an order can be both linked and naming her email
    for record_id, system, source_id, payload in sorted(unique.values(), key=lambda r: -int(r[0])):
        scrubbed = scrub_order_payload(payload)
        digest = hashlib.sha256(canonical_json(scrubbed)).hexdigest()
        taken = connection.scalar(
            select(records.c.id).where(
                records.c.source_system == system,
                records.c.entity == _ORDER_ENTITY[str(system)],
                records.c.source_id == source_id,
                records.c.payload_hash == digest,
                records.c.id != record_id,
            )
        )
        if taken is not None:
            # Two versions that differed only in the buyer: the latest keeps the hash.
            digest = hashlib.sha256(f"superseded:{record_id}:{digest}".encode()).hexdigest()
        connection.execute(
            update(records)
            .where(records.c.id == record_id)
            .values(payload=scrubbed, payload_hash=digest, contact_index=None)
        )
        touched.append(int(record_id))
    return touched


def _guest_orders(connection: Connection, strings: Sequence[str]) -> list[Any]:
    """Return the order records that name one of the person's emails without a customer id."""
    return _guest_orders_of(connection, _emails(strings))


def _erase_interactions(
    connection: Connection, profile_ids: list[int], marker: dict[str, str]
) -> list[int]:
    """Delete the person's interactions; blank their source records; return those records' ids."""
    table = table_of(Interaction)
    keys = connection.execute(
        select(table.c.source_system, table.c.source_interaction_id).where(
            table.c.customer_id.in_(profile_ids)
        )
    ).all()
    connection.execute(delete(table).where(table.c.customer_id.in_(profile_ids)))
    erased: list[int] = []
    for system, interaction_id in keys:
        erased += [
            int(i)
            for i in connection.scalars(
                select(records.c.id).where(
                    records.c.source_system == system,
                    records.c.entity.in_(_INTERACTION_ENTITIES),
                    records.c.source_id == interaction_id,
                )
            )
        ]
    for condition in is_one_of(connection, records.c.id, erased):
        connection.execute(update(records).where(condition).values(payload=marker))
    return erased


def _erase_rejects(
    connection: Connection,
    person_links: Sequence[Any],
    record_ids: list[int],
    strings: Sequence[str],
    ref: str,
) -> int:
    """Blank the rejected rows of the person: by record, by source id, or naming their contact."""
    table = table_of(Reject)
    by_source = [
        (str(link.source_system), _CUSTOMER_ENTITY[str(link.source_system)], str(link.source_id))
        for link in person_links
    ]
    conditions: list[Any] = [table.c.source_record_id.in_(record_ids)] if record_ids else []
    if by_source:
        conditions.append(
            tuple_(table.c.source_system, table.c.entity, table.c.source_id).in_(by_source)
        )
    found: list[Any] = (
        list(connection.execute(select(table.c.id, table.c.message).where(or_(*conditions))))
        if conditions
        else []
    )
    found += _rejects_naming(connection, _contacts(strings), {int(r.id) for r in found})
    for reject_id, message in found:
        connection.execute(
            update(table)
            .where(table.c.id == reject_id)
            .values(
                raw_payload=f"[erased: {ref}]",
                message=sweep_text(str(message), strings),
                source_id=None,
                file=None,
            )
        )
    return len(found)


def _rejects_naming(connection: Connection, contacts: list[str], known: set[int]) -> list[Any]:
    """Return the other rejects whose raw text names one of the contacts.

    The raw text is encrypted, so SQL cannot search it: every reject is read
    and decrypted (rejects are few, about one row in a hundred of a load).
    """
    if not contacts:
        return []
    table = table_of(Reject)
    wanted = [c.lower() for c in contacts]
    found = []
    # yield_per on the statement: on the connection it would stick to every later statement.
    rows = connection.execute(
        select(table.c.id, table.c.message, table.c.raw_payload).execution_options(yield_per=5000)
    )
    for row in rows:
        if int(row.id) not in known and any(c in row.raw_payload.lower() for c in wanted):
            found.append(row[:2])
    return found


def _erase_issues(connection: Connection, record_ids: list[int]) -> None:
    table = table_of(ValidationIssueRecord)
    for condition in is_one_of(connection, table.c.source_record_id, record_ids):
        connection.execute(
            update(table)
            .where(condition)
            .values(value=None, message=table.c.code + " (value erased)")
        )


def _blank_ledger_proofs(
    connection: Connection,
    *,
    profile_ids: list[int],
    person_links: Sequence[Any],
    customer_records: Mapping[int, str],
    secret: str,
    marker: dict[str, str],
) -> None:
    """Blank the proofs of the person's consent statements (the ledger's one accepted update)."""
    ledger = table_of(ConsentEvent)
    connection.execute(
        update(ledger).where(ledger.c.customer_id.in_(profile_ids)).values(proof=marker)
    )
    for link in person_links:
        system, source_id = str(link.source_system), str(link.source_id)
        connection.execute(
            update(ledger)
            .where(ledger.c.source_system == system, ledger.c.source_id == source_id)
            .values(proof=marker, source_id=source_pseudonym(secret, system, source_id))
        )
    # The raw statements, by their record (indexed), each with its record's pseudonym.
    raw = table_of(RawConsent)
    by_pseudonym: dict[str, list[int]] = {}
    for record_id, pseudonym in customer_records.items():
        by_pseudonym.setdefault(pseudonym, []).append(record_id)
    for pseudonym, record_ids in by_pseudonym.items():
        connection.execute(
            update(raw)
            .where(raw.c.source_record_id.in_(record_ids))
            .values(proof=marker, source_id=pseudonym)
        )


def _erase_identity(
    connection: Connection,
    *,
    person_links: Sequence[Any],
    profile_ids: list[int],
    secret: str,
    marker: dict[str, str],
    now: datetime,
) -> None:
    blank = dict.fromkeys((*PERSONAL_COLUMNS, *_LINK_KEY_COLUMNS))
    link_ids = [int(link.id) for link in person_links]
    for link in person_links:
        connection.execute(
            update(links)
            .where(links.c.id == link.id)
            .values(
                source_id=source_pseudonym(secret, str(link.source_system), str(link.source_id)),
                closed=True,
                updated_at=now,
                **blank,
            )
        )
    references = table_of(IdentityReference)
    connection.execute(delete(references).where(references.c.link_id.in_(link_ids)))
    reviews = table_of(MatchReview)
    involved = or_(reviews.c.left_link_id.in_(link_ids), reviews.c.right_link_id.in_(link_ids))
    connection.execute(
        update(reviews)
        .where(involved, reviews.c.status == ReviewStatus.PENDING.value)
        .values(status=ReviewStatus.SUPERSEDED.value, decided_at=now, decided_by="process:erasure")
    )
    connection.execute(
        update(reviews).where(involved).values(comparison=marker, reasons=[], decision_reason=None)
    )
    members = table_of(DistinctDecisionMember)
    decisions = table_of(DistinctDecision)
    connection.execute(
        update(decisions)
        .where(
            decisions.c.id.in_(select(members.c.decision_id).where(members.c.link_id.in_(link_ids)))
        )
        .values(reason=f"[erased: {marker['erased']}]")
    )
    merges = table_of(MergeEvent)
    involved_merges = or_(
        merges.c.survivor_id.in_(profile_ids), merges.c.merged_id.in_(profile_ids)
    )
    for merge_id, changes in connection.execute(
        select(merges.c.id, merges.c.field_changes).where(involved_merges)
    ).all():
        connection.execute(
            update(merges)
            .where(merges.c.id == merge_id)
            .values(
                # The fields that changed stay on record, not their values.
                field_changes=dict.fromkeys(changes or {}),
                evidence=marker,
                reason=None,
                unmerge_reason=None,
            )
        )


def _erase_profiles(connection: Connection, profile_ids: list[int], now: datetime) -> None:
    connection.execute(
        update(golden)
        .where(golden.c.id.in_(profile_ids))
        .values(
            status=CustomerStatus.ERASED.value,
            lineage={},
            updated_at=now,
            **dict.fromkeys((*PERSONAL_COLUMNS, *_PROFILE_INDEX_COLUMNS)),
        )
    )
    for model in (CustomerStore, CustomerAssociate, ProcessingRestriction, ManualRectification):
        table = table_of(model)
        connection.execute(delete(table).where(table.c.customer_id.in_(profile_ids)))


def _erase_privacy_records(connection: Connection, profile_ids: list[int]) -> int:
    """Blank the person's own words in their requests and delete the files written for them."""
    requests = table_of(SubjectRequest)
    steps = table_of(SubjectRequestStep)
    request_ids = select(requests.c.id).where(requests.c.customer_id.in_(profile_ids))
    connection.execute(
        update(requests).where(requests.c.customer_id.in_(profile_ids)).values(details=None)
    )
    connection.execute(update(steps).where(steps.c.request_id.in_(request_ids)).values(note=None))
    exports = table_of(PrivacyExport)
    deleted = 0
    for (path,) in connection.execute(
        select(exports.c.path).where(exports.c.customer_id.in_(profile_ids))
    ):
        file = Path(path)
        if file.exists():
            file.unlink()
            deleted += 1
    return deleted


def _erase_events(
    connection: Connection, external_ids: list[str], strings: Sequence[str], marker: dict[str, str]
) -> int:
    """Blank the data of every outbox event about the person, or naming their email or phone."""
    contacts = _contacts(strings)
    conditions: list[Any] = [outbox.c.subject.in_(external_ids)]
    conditions += [
        func.lower(cast(outbox.c.data, Text)).contains(value.lower()) for value in contacts
    ]
    result = connection.execute(update(outbox).where(or_(*conditions)).values(data=marker))
    return int(result.rowcount or 0)


# ---------------------------------------------------------------- webhooks


def _erase_dead_letters(
    connection: Connection, external_ids: list[str], strings: Sequence[str], marker: dict[str, str]
) -> int:
    """Blank the webhook dead letters about the person and the errors answered to their events.

    A dead letter is a copy of an outbox event kept for replay: it keeps its
    envelope (id, type, subject, time), as the outbox row does, and its data
    becomes the marker. What a receiver answered may quote what it was sent,
    so the errors of the attempts to deliver the person's events keep only
    their HTTP status.
    """
    letters = table_of(WebhookDeadLetter)
    conditions: list[Any] = [letters.c.event["subject"].as_string().in_(external_ids)]
    conditions += [
        func.lower(cast(letters.c.event, Text)).contains(value.lower(), autoescape=True)
        for value in _contacts(strings)
    ]
    found = connection.execute(
        select(letters.c.id, letters.c.event_id, letters.c.event, letters.c.last_error).where(
            or_(*conditions)
        )
    ).all()
    for letter_id, _event_id, event, error in found:
        connection.execute(
            update(letters)
            .where(letters.c.id == letter_id)
            .values(event={**event, "data": marker}, last_error=_blank_error(error, marker))
        )
    deliveries = table_of(WebhookDelivery)
    attempts = list(
        connection.execute(
            select(deliveries.c.id, deliveries.c.error)
            .join(outbox, outbox.c.event_id == deliveries.c.event_id)
            .where(outbox.c.subject.in_(external_ids), deliveries.c.error.is_not(None))
        )
    )
    for condition in is_one_of(connection, deliveries.c.event_id, [str(r[1]) for r in found]):
        attempts += connection.execute(
            select(deliveries.c.id, deliveries.c.error).where(
                condition, deliveries.c.error.is_not(None)
            )
        ).all()
    for delivery_id, error in {int(r[0]): r for r in attempts}.values():
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(error=_blank_error(error, marker))
        )
    return len(found)


def _erase_shopify_webhooks(
    connection: Connection,
    person_links: Sequence[Any],
    strings: Sequence[str],
    marker: dict[str, str],
) -> int:
    """Blank the Shopify webhook deliveries about the person; return how many.

    Those naming one of the person's Shopify customer ids (indexed), and those
    still holding a body (waiting, dead, or a compliance request) that names
    their email or phone: a guest's order, a redaction asked by email only.
    Each keeps its envelope; its body, what it was about and what processing
    said go.
    """
    inbox = table_of(ShopifyWebhook)
    shopify_ids = [str(link.source_id) for link in person_links if link.source_system == "shopify"]
    found: set[int] = set()
    for condition in is_one_of(connection, inbox.c.customer_ref, shopify_ids):
        found.update(int(i) for i in connection.scalars(select(inbox.c.id).where(condition)))
    contacts = [c.lower() for c in _contacts(strings)]
    if contacts:
        for delivery_id, body in connection.execute(
            select(inbox.c.id, inbox.c.body).where(inbox.c.body.is_not(None))
        ):
            text = canonical_json(body).decode().lower()
            if any(contact in text for contact in contacts):
                found.add(int(delivery_id))
    for condition in is_one_of(connection, inbox.c.id, sorted(found)):
        connection.execute(
            update(inbox)
            .where(condition)
            .values(
                body=None,
                resource=None,
                customer_ref=None,
                outcome=f"[erased: {marker['erased']}]",
                last_error=None,
            )
        )
    return len(found)


def _blank_error(error: str | None, marker: dict[str, str]) -> str:
    """Return a receiver's error without what it said: ``HTTP 422 [erased: DSR-12]``."""
    status = re.match(r"HTTP \d{3}", error or "")
    erased = f"[erased: {marker['erased']}]"
    return f"{status.group(0)} {erased}" if status else erased


__all__ = ["PERSONAL_COLUMNS", "erase_people", "erase_person", "sweep_text"]

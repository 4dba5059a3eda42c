"""Sources and their write keys; receiving Segment messages as raw records, then interactions.

``record_messages`` is the one action of a request: it stores every message
raw (invariant 1), resolves who sent it, records the interactions, attaches
earlier anonymous interactions to the person an identify or alias names,
and emits ``interaction.recorded`` in the same transaction (invariant 5).
Identify traits only serve to find the person: the raw message is their
record, and the golden profile is left to the identity domain.

Who a message is about, in order: a userId that is an AMI- id or a
``source:id`` of a known source record; a userId or anonymousId already
resolved for this source; the email or phone of the message's traits
(``traits`` or ``context.traits``), through the email match key or the
E.164 phone. Nothing found: the interaction is kept without a profile and
attached as soon as one of its ids is resolved.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.orm import Session

from amigo.core.crypto import BlindIndex, blind_index, current_crypto
from amigo.core.db import table_of
from amigo.core.errors import InvalidInputError
from amigo.core.sql import array, fetch_all, insert_new, is_one_of, is_row_of, upsert
from amigo.events.service import DomainEvent, emit_events
from amigo.privacy.suppression import SuppressionList
from amigo.profiles.models import Interaction
from amigo.profiles.service import (
    SOURCE_SYSTEMS,
    CustomerLookup,
    Located,
    attach_interactions,
    locate_customers,
    record_interactions,
)
from amigo.tracking.errors import InvalidWriteKeyError, TrackingInputError
from amigo.tracking.messages import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    Message,
    batch_messages,
    decode_body,
    message_key,
    parse_json_object,
    read_messages,
)
from amigo.tracking.models import (
    ANONYMOUS_ID_FIELD,
    USER_ID_FIELD,
    TrackingIdentity,
    TrackingMessage,
    TrackingSource,
    id_index,
)
from amigo.tracking.schemas import CreatedSource, ReceiveSummary, RejectedMessage, SourceView
from amigo.tracking.screening import (
    contact_keys,
    process_suppression_list,
    stub,
    stub_payload,
    suppressed_messages,
)

SOURCE_SYSTEM = "tracking"  # the interactions' source_system
_messages = table_of(TrackingMessage)
_identities = table_of(TrackingIdentity)
_DEFAULT_CHANNEL = {"page": "web", "screen": "app"}
_USER, _ANONYMOUS = "user", "anonymous"


# ---------------------------------------------------------------- sources and keys


def _hash_key(write_key: str) -> str:
    return hashlib.sha256(write_key.encode()).hexdigest()


def create_source(*, session: Session, name: str, now: datetime) -> CreatedSource:
    """Create a source and return it with its new write key (shown only this once)."""
    name = name.strip()
    if not name or len(name) > 60:
        raise InvalidInputError("a source name is 1 to 60 characters")
    if session.scalar(select(TrackingSource.id).where(TrackingSource.name == name)) is not None:
        raise InvalidInputError(f"a source named {name!r} exists already")
    write_key = secrets.token_urlsafe(24)  # 192 bits, 32 characters, no ':' (Basic auth)
    source = TrackingSource(
        name=name,
        write_key_hash=_hash_key(write_key),
        write_key_hint=write_key[:6],
        created_at=now,
    )
    session.add(source)
    session.flush()
    return CreatedSource(**SourceView.model_validate(source).model_dump(), write_key=write_key)


def list_sources(*, session: Session) -> list[SourceView]:
    """Return every source, oldest first."""
    return [
        SourceView.model_validate(s)
        for s in session.scalars(select(TrackingSource).order_by(TrackingSource.id))
    ]


def disable_source(*, session: Session, name: str, now: datetime) -> SourceView:
    """Disable a source: its write key is refused from then on (after WRITE_KEY_CACHE_SECONDS)."""
    source = session.scalar(select(TrackingSource).where(TrackingSource.name == name.strip()))
    if source is None:
        raise InvalidInputError(f"no source is named {name!r}")
    if source.disabled_at is None:
        source.disabled_at = now
        session.flush()
    _write_keys.forget(source.write_key_hash)
    return SourceView.model_validate(source)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """The authenticated source of a request."""

    id: int
    name: str


# How long a process keeps answering with a write key it found valid without asking the
# database again: a disabled source's key is refused by every process within this time.
WRITE_KEY_CACHE_SECONDS = 5.0


class _WriteKeyCache:
    """The write keys this process found valid lately: key hash -> source, until a deadline.

    One query per request less. Only valid keys are kept (a new source's key works at
    once); each for WRITE_KEY_CACHE_SECONDS, the bound on how long a disabled key is
    still accepted. Keyed by database too: tests and tools open several in one process.
    """

    def __init__(self, ttl: float = WRITE_KEY_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[object, str], tuple[SourceRef, float]] = {}

    def get(self, database: object, key_hash: str) -> SourceRef | None:
        entry = self._entries.get((database, key_hash))
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]

    def put(self, database: object, key_hash: str, source: SourceRef) -> None:
        if len(self._entries) > 10_000:  # no key comes back after expiring: drop them all
            self._entries.clear()
        self._entries[(database, key_hash)] = (source, time.monotonic() + self.ttl)

    def forget(self, key_hash: str) -> None:
        for entry in [e for e in self._entries if e[1] == key_hash]:
            self._entries.pop(entry, None)


_write_keys = _WriteKeyCache()


def authenticate(*, session: Session, write_key: str | None) -> SourceRef:
    """Return the enabled source whose write key this is (known keys cached a few seconds)."""
    if not write_key:
        raise InvalidWriteKeyError(
            "no write key: send it as the HTTP Basic user name, with an empty password"
        )
    key_hash = _hash_key(write_key)
    database = session.get_bind().engine.url
    cached = _write_keys.get(database, key_hash)
    if cached is not None:
        return cached
    row = session.execute(
        select(TrackingSource.id, TrackingSource.name).where(
            TrackingSource.write_key_hash == key_hash,
            TrackingSource.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        raise InvalidWriteKeyError("this write key names no enabled source")
    source = SourceRef(id=int(row.id), name=str(row.name))
    _write_keys.put(database, key_hash, source)
    return source


# ---------------------------------------------------------------- receiving


def receive_batch(
    *, session: Session, source: SourceRef, body: bytes, content_encoding: str | None, now: datetime
) -> ReceiveSummary:
    """Record a ``/v1/batch`` request; invalid messages are stored as rejected, the rest recorded."""
    parsed = parse_json_object(decode_body(body, content_encoding, limit=MAX_BATCH_BYTES))
    messages = read_messages(
        batch_messages(parsed), received_at=now, batch_sent_at=parsed.get("sentAt")
    )
    return record_messages(session=session, source=source, messages=messages, received_at=now)


def receive_message(
    *,
    session: Session,
    source: SourceRef,
    message_type: str,
    body: bytes,
    content_encoding: str | None,
    now: datetime,
) -> ReceiveSummary:
    """Record a single call (``/v1/track``...); an invalid message is refused, nothing stored."""
    parsed = parse_json_object(decode_body(body, content_encoding, limit=MAX_MESSAGE_BYTES))
    messages = read_messages([parsed], received_at=now, forced_type=message_type)
    rejection = messages[0].rejection
    if rejection is not None:
        raise TrackingInputError(rejection.message, code=rejection.code)
    return record_messages(session=session, source=source, messages=messages, received_at=now)


def record_messages(
    *,
    session: Session,
    source: SourceRef,
    messages: Sequence[Message],
    received_at: datetime,
    suppression: SuppressionList | None = None,
) -> ReceiveSummary:
    """Store messages raw, record their interactions on the right profiles, attach earlier ones.

    ``suppression``: the erasure suppression list (default: under the process's key).
    """
    connection = session.connection()
    summary = ReceiveSummary()
    keyed: dict[str, Message] = {}
    for message in messages:
        key = message_key(source.id, message.message_id)
        if key in keyed:
            summary.duplicates += 1
        else:
            keyed[key] = message
    # Erased people stay erased (invariant 7): their messages are kept as stubs only.
    contacts = {m.index: contact_keys(m) for m in keyed.values()}
    suppressed = suppressed_messages(
        connection, keyed, contacts, suppression or process_suppression_list()
    )
    for key in suppressed:
        keyed[key] = stub(keyed[key])
    # Raw first (invariant 1); a message stored already, by an earlier or a concurrent
    # request, is a resend: only the request that stored it records its interaction.
    stored = insert_new(
        connection,
        _messages,
        [_message_row(source, key, m, received_at, contacts[m.index]) for key, m in keyed.items()],
        key="key",
    )
    summary.duplicates += len(keyed) - len(stored)
    new = {key: m for key, m in keyed.items() if key in stored}
    if not new:
        return summary
    summary.suppressed = sum(1 for m in new.values() if m.suppressed)
    valid = {key: m for key, m in new.items() if m.rejection is None and not m.suppressed}
    summary.rejected = [
        RejectedMessage(index=m.index, code=m.rejection.code, message=m.rejection.message)
        for m in new.values()
        if m.rejection is not None
    ]
    resolver = _Resolver.load(connection, source.id, list(valid.values()), contacts)
    for message in valid.values():
        resolver.learn(message)
    owners = {key: resolver.owner(m) for key, m in valid.items()}

    rows = [_interaction_row(source, key, m, owners[key]) for key, m in valid.items()]
    record_interactions(connection, rows)
    # The event names the interaction as its row does ("text": _label, read once).
    events = [
        _recorded_event(source, key, m, owners[key], label=row["text"])
        for (key, m), row in zip(valid.items(), rows, strict=True)
    ]
    if resolver.changed:
        upsert(
            connection,
            _identities,
            [
                {
                    "source_id": source.id,
                    "kind": kind,
                    "value": _index_of(kind, value),
                    "customer_id": located.customer_id,
                    "rule": rule,
                    "updated_at": received_at,
                }
                for (kind, value), (located, rule) in resolver.changed.items()
            ],
            conflict_columns=["source_id", "kind", "value"],
        )
        attached = _attach_earlier(connection, source, resolver, exclude=set(new))
        summary.attached = sum(attached.values())
        events += [
            DomainEvent(
                type="interaction.attached",
                subject=external_id,
                data={"customer": external_id, "source": source.name, "interactions": count},
            )
            for external_id, count in attached.items()
        ]
    emit_events(connection, events, now=received_at)
    summary.recorded = len(valid)
    return summary


# ---------------------------------------------------------------- who sent it


_INDEX_FIELDS = {_USER: USER_ID_FIELD, _ANONYMOUS: ANONYMOUS_ID_FIELD}


@lru_cache(maxsize=65_536)
def _cached_index(value: str, field: str, index: BlindIndex) -> str:
    return id_index(value, field=field, index=index)


def _index_of(kind: str, value: str) -> str:
    """Return the blind index an id of a kind is stored and looked up under."""
    # A batch asks for the same ids several times (lookup, upsert, attach, rows);
    # keyed by the process's index key too, which tests may replace.
    return _cached_index(value, _INDEX_FIELDS[kind], current_crypto().index)


def _explicit_reference(user_id: str) -> tuple[str, Any] | None:
    """Return ("external", AMI- id) or ("source", (system, id)) when a userId names one."""
    if user_id.upper().startswith("AMI-"):
        return "external", user_id.upper()
    system, _, source_id = user_id.partition(":")
    if system.lower() in SOURCE_SYSTEMS and source_id.strip():
        return "source", (system.lower(), source_id.strip())
    return None


# Hand-written for PostgreSQL, as profiles.service's look-ups: a tracking batch runs
# each once, and SQLAlchemy's compile, cache key and result wrapping cost more than
# the server's answer. Composite keys as (a, b) IN (SELECT * FROM unnest(...)): see
# core.sql.is_row_of.
_KNOWN_IDS = """
SELECT i.kind, i.value, i.customer_id FROM tracking_identity i
 WHERE (i.source_id, i.kind, i.value) IN (SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[]))
"""
_EARLIER_MESSAGES = """
SELECT m.key, m.user_index, m.anonymous_id FROM tracking_message m
 WHERE (m.source_id, m.user_index) IN (SELECT * FROM unnest(%b::bigint[], %b::text[]))
   AND m.status = 'processed'
UNION ALL
SELECT m.key, m.user_index, m.anonymous_id FROM tracking_message m
 WHERE (m.source_id, m.anonymous_id) IN (SELECT * FROM unnest(%b::bigint[], %b::text[]))
   AND m.status = 'processed'
"""


def _known_ids(
    connection: Connection, source_id: int, wanted: list[tuple[str, str]]
) -> list[tuple[str, str, int]]:
    """Return (kind, index, profile) of the source's ids among the wanted (kind, index)."""
    if connection.dialect.name == "postgresql":
        if not wanted:
            return []
        rows = fetch_all(
            connection,
            _KNOWN_IDS,
            [
                array("BIGINT[]", [source_id] * len(wanted)),
                array("text[]", [kind for kind, _ in wanted]),
                array("text[]", [index for _, index in wanted]),
            ],
        )
        return [(kind, index, int(customer_id)) for kind, index, customer_id in rows]
    key_columns = [_identities.c.source_id, _identities.c.kind, _identities.c.value]
    found = []
    for condition in is_row_of(connection, key_columns, [(source_id, *w) for w in wanted]):
        for row in connection.execute(
            select(_identities.c.kind, _identities.c.value, _identities.c.customer_id).where(
                condition
            )
        ):
            found.append((str(row.kind), str(row.value), int(row.customer_id)))
    return found


def _earlier_messages(
    connection: Connection, source_id: int, user_indexes: list[str], anonymous_ids: list[str]
) -> list[tuple[str, str | None, str | None]]:
    """Return (key, user index, anonymousId) of the processed messages sent under these ids."""
    if connection.dialect.name == "postgresql":
        if not user_indexes and not anonymous_ids:
            return []
        return fetch_all(
            connection,
            _EARLIER_MESSAGES,
            [
                array("BIGINT[]", [source_id] * len(user_indexes)),
                array("text[]", user_indexes),
                array("BIGINT[]", [source_id] * len(anonymous_ids)),
                array("text[]", anonymous_ids),
            ],
        )
    conditions = []
    for values, column in (
        (user_indexes, _messages.c.user_index),
        (anonymous_ids, _messages.c.anonymous_id),
    ):
        rows = [(source_id, value) for value in values]
        conditions += list(is_row_of(connection, [_messages.c.source_id, column], rows))
    found = []
    for condition in conditions:
        for row in connection.execute(
            select(_messages.c.key, _messages.c.user_index, _messages.c.anonymous_id).where(
                condition, _messages.c.status == "processed"
            )
        ):
            found.append((str(row.key), row.user_index, row.anonymous_id))
    return found


class _Resolver:
    """The profiles a batch's ids lead to, and the ids it newly ties to a profile."""

    def __init__(
        self,
        lookup: CustomerLookup,
        known: dict[tuple[str, str], Located],
        contacts: dict[int, Any],
    ) -> None:
        self.lookup = lookup
        self.known = known
        self.contacts = contacts
        self.changed: dict[tuple[str, str], tuple[Located, str]] = {}

    @classmethod
    def load(
        cls,
        connection: Connection,
        source_id: int,
        messages: list[Message],
        contacts: dict[int, tuple[str | None, str | None]],
    ) -> _Resolver:
        """Read what the database knows of the batch's ids, emails and phones (a few queries)."""
        # The ids learn() and owner() look up: a previousId may name a user or a device.
        ids = {
            (kind, value)
            for m in messages
            for kind, value in (
                (_USER, m.user_id),
                (_ANONYMOUS, m.anonymous_id),
                (_USER, m.previous_id),
                (_ANONYMOUS, m.previous_id),
            )
            if value is not None
        }
        # tracking_identity holds the ids' blind indexes: looked up by index, mapped back.
        by_index = {(kind, _index_of(kind, value)): (kind, value) for kind, value in ids}
        mapped = {
            by_index[(kind, index)]: customer_id
            for kind, index, customer_id in _known_ids(connection, source_id, sorted(by_index))
        }
        references = [
            ref
            for m in messages
            for i in (m.user_id, m.previous_id)
            if i is not None and (ref := _explicit_reference(i)) is not None
        ]
        contacts = {m.index: contacts[m.index] for m in messages}
        lookup = locate_customers(
            connection,
            external_ids=[value for kind, value in references if kind == "external"],
            source_keys=[value for kind, value in references if kind == "source"],
            email_keys=[e for e, _ in contacts.values() if e],
            phones=[p for _, p in contacts.values() if p],
            customer_ids=set(mapped.values()),
        )
        known = {
            id_: lookup.by_customer_id[c] for id_, c in mapped.items() if c in lookup.by_customer_id
        }
        return cls(lookup, known, contacts)

    def _user(self, user_id: str | None) -> tuple[Located, str] | None:
        if user_id is None:
            return None
        reference = _explicit_reference(user_id)
        if reference is not None:
            kind, value = reference
            table = self.lookup.by_external_id if kind == "external" else self.lookup.by_source
            found = table.get(value)
            if found is not None:
                return found, "user_id"
        known = self.known.get((_USER, user_id))
        return (known, "known") if known is not None else None

    def _contact(self, message: Message) -> tuple[Located, str] | None:
        email_key, phone = self.contacts.get(message.index, (None, None))
        if email_key and (found := self.lookup.by_email_key.get(email_key)) is not None:
            return found, "email"
        if phone and (found := self.lookup.by_phone.get(phone)) is not None:
            return found, "phone"
        return None

    def _resolve(self, message: Message) -> tuple[Located, str] | None:
        return (
            self._user(message.user_id)
            or (self._user(message.previous_id) if message.type == "alias" else None)
            or self._contact(message)
        )

    def _tie(self, kind: str, value: str | None, located: Located, rule: str) -> None:
        if value is None or self.known.get((kind, value)) == located:
            return
        self.known[(kind, value)] = located
        self.changed[(kind, value)] = (located, rule)

    def learn(self, message: Message) -> None:
        """Tie the message's ids to the person it names (in the order messages were sent)."""
        resolved = self._resolve(message)
        if resolved is None:
            anonymous = self.known.get((_ANONYMOUS, message.anonymous_id or ""))
            if anonymous is not None and message.user_id is not None:
                # A new userId on a device already known: the same person.
                self._tie(_USER, message.user_id, anonymous, "anonymous_id")
            return
        located, rule = resolved
        if message.type == "alias":
            rule = "alias"
            self._tie(_USER, message.previous_id, located, rule)
            self._tie(_ANONYMOUS, message.previous_id, located, rule)
        self._tie(_USER, message.user_id, located, rule)
        self._tie(_ANONYMOUS, message.anonymous_id, located, rule)

    def owner(self, message: Message) -> Located | None:
        """Return the profile a message lands on, once the whole batch was learned."""
        resolved = self._resolve(message)
        if resolved is not None:
            return resolved[0]
        return self.known.get((_ANONYMOUS, message.anonymous_id or ""))


def _attach_earlier(
    connection: Connection, source: SourceRef, resolver: _Resolver, *, exclude: set[str]
) -> dict[str, int]:
    """Attach the earlier interactions sent under newly resolved ids; count them per profile."""
    # Messages keep their userId encrypted: they are found, and told apart, by its index.
    users = {_index_of(_USER, v): v for k, v in resolver.known if k == _USER}
    changed_users = sorted(_index_of(_USER, v) for k, v in resolver.changed if k == _USER)
    anonymous = sorted(v for k, v in resolver.changed if k == _ANONYMOUS)
    assignments: dict[str, tuple[int, int | None]] = {}
    for key, user_index, anonymous_id in _earlier_messages(
        connection, source.id, changed_users, anonymous
    ):
        if key in exclude:
            continue
        user = users.get(user_index or "")
        located = (
            resolver.known.get((_USER, user)) if user is not None else None
        ) or resolver.known.get((_ANONYMOUS, anonymous_id or ""))
        if located is not None:
            assignments[key] = (located.customer_id, located.link_id)
    attached = attach_interactions(connection, source_system=SOURCE_SYSTEM, assignments=assignments)
    external = {located.customer_id: located.external_id for located in resolver.known.values()}
    return {external[c]: n for c, n in attached.items()}


# ---------------------------------------------------------------- erasure


def erase_tracking(
    connection: Connection,
    *,
    customer_ids: Sequence[int],
    email_keys: Iterable[str] = (),
    phones: Iterable[str] = (),
) -> int:
    """Reduce erased people's raw messages to stubs and forget their ids; return the messages.

    The erasure calls it before it deletes their interactions, which name the
    messages they were made from. Every message sent under the same userIds
    and devices goes too (rejected ones have no interaction), and every one
    whose traits give one of their email match keys or E.164 phones (an
    identify sent before they were known), found by the blind indexes. What
    stays of each is what a screened message keeps (``screening.stub_payload``),
    status ``erased``; the interactions made from them that nobody holds, and
    the people's ``tracking_identity`` ties, are deleted.
    """
    if not customer_ids:
        return 0
    ids = _messages_of(connection, list(customer_ids))
    for column, field, values in (
        (_messages.c.email_index, "email", email_keys),
        (_messages.c.phone_index, "phone", phones),
    ):
        indexes = sorted({i for v in values if (i := blind_index(v, field=field)) is not None})
        for condition in is_one_of(connection, column, indexes):
            ids.update(connection.scalars(select(_messages.c.id).where(condition)))
    erased = 0
    keys: list[str] = []
    for condition in is_one_of(connection, _messages.c.id, sorted(ids)):
        rows = connection.execute(
            select(_messages.c.id, _messages.c.key, _messages.c.payload_sealed).where(condition)
        ).all()
        keys += [row.key for row in rows]
        stubs = [{"_id": row.id, "_payload": stub_payload(row.payload_sealed)} for row in rows]
        if stubs:
            connection.execute(
                update(_messages)
                .where(_messages.c.id == bindparam("_id"))
                .values(
                    payload_sealed=bindparam("_payload"),
                    user_id=None,
                    user_index=None,
                    anonymous_id=None,
                    email_index=None,
                    phone_index=None,
                    status="erased",
                ),
                stubs,
            )
        erased += len(stubs)
    interactions = table_of(Interaction)
    for condition in is_one_of(connection, interactions.c.source_interaction_id, keys):
        connection.execute(
            delete(interactions).where(
                condition,
                interactions.c.source_system == SOURCE_SYSTEM,
                interactions.c.customer_id.is_(None),
            )
        )
    for condition in is_one_of(connection, _identities.c.customer_id, list(customer_ids)):
        connection.execute(delete(_identities).where(condition))
    return erased


def _messages_of(connection: Connection, customer_ids: list[int]) -> set[int]:
    """Return the ids of the messages sent by these people, or under their userIds and devices."""
    interactions = table_of(Interaction)
    keys: list[str] = []
    for condition in is_one_of(connection, interactions.c.customer_id, customer_ids):
        keys += connection.scalars(
            select(interactions.c.source_interaction_id).where(
                condition, interactions.c.source_system == SOURCE_SYSTEM
            )
        ).all()
    # (source, column) -> values: the users' indexes and the devices these messages name.
    under: dict[tuple[int, str], set[str]] = defaultdict(set)
    for condition in is_one_of(connection, _messages.c.key, keys):
        for row in connection.execute(
            select(_messages.c.source_id, _messages.c.user_index, _messages.c.anonymous_id).where(
                condition
            )
        ):
            if row.user_index is not None:
                under[(int(row.source_id), "user_index")].add(row.user_index)
            if row.anonymous_id is not None:
                under[(int(row.source_id), "anonymous_id")].add(row.anonymous_id)
    for condition in is_one_of(connection, _identities.c.customer_id, customer_ids):
        for row in connection.execute(
            select(_identities.c.source_id, _identities.c.value).where(
                condition, _identities.c.kind == _USER
            )
        ):
            under[(int(row.source_id), "user_index")].add(row.value)
    conditions = list(is_one_of(connection, _messages.c.key, keys))
    for (source_id, column), values in under.items():
        rows = [(source_id, value) for value in sorted(values)]
        conditions += is_row_of(connection, [_messages.c.source_id, _messages.c[column]], rows)
    ids: set[int] = set()
    for condition in conditions:
        ids.update(connection.scalars(select(_messages.c.id).where(condition)))
    return ids


# ---------------------------------------------------------------- rows and events


def _message_row(
    source: SourceRef,
    key: str,
    message: Message,
    received_at: datetime,
    contacts: tuple[str | None, str | None],
) -> dict[str, Any]:
    rejection = message.rejection
    email_key, phone = (None, None) if message.suppressed else contacts
    return {
        "key": key,
        "source_id": source.id,
        "message_id": message.message_id,
        "type": message.type,
        "user_id": message.user_id,  # encrypted by its column type
        "user_index": None if message.user_id is None else _index_of(_USER, message.user_id),
        "anonymous_id": message.anonymous_id,
        # Sealed by its column type; the canonical JSON the hash was taken of, as it is.
        "payload_sealed": message.payload_json or message.payload,
        "payload_hash": message.payload_hash,
        "email_index": blind_index(email_key, field="email"),
        "phone_index": blind_index(phone, field="phone"),
        "sent_at": message.sent_at,
        "received_at": received_at,
        "occurred_at": message.occurred_at,
        "status": "suppressed"
        if message.suppressed
        else "processed"
        if rejection is None
        else "rejected",
        "reject_code": rejection.code if rejection else None,
        "reject_message": rejection.message if rejection else None,
    }


def _label(message: Message) -> str | None:
    """Return what the interaction is called: the event, the page or screen, the group."""
    payload = message.payload
    for field in ("event", "name", "groupId", "previousId"):
        value = payload.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _campaign(message: Message) -> str | None:
    context = message.payload.get("context")
    campaign = context.get("campaign") if isinstance(context, dict) else None
    name = campaign.get("name") if isinstance(campaign, dict) else None
    return name[:100] if isinstance(name, str) and name else None


def _interaction_row(
    source: SourceRef, key: str, message: Message, owner: Located | None
) -> dict[str, Any]:
    payload = message.payload
    channel = payload.get("channel")
    if not isinstance(channel, str) or not channel or len(channel) > 20:
        channel = _DEFAULT_CHANNEL.get(message.type, "tracking")
    details: dict[str, Any] = {
        "source": source.name,
        "message_id": message.message_id,
        "user_id": message.user_id,
        "anonymous_id": message.anonymous_id,
    }
    # What happened, without the traits (personal data stays in the raw message).
    for field in ("properties", "groupId", "previousId"):
        if payload.get(field) is not None:
            details[field] = payload[field]
    return {
        "source_system": SOURCE_SYSTEM,
        "source_interaction_id": key,
        "customer_id": owner.customer_id if owner else None,
        "customer_link_id": owner.link_id if owner else None,
        "type": message.type,
        "channel": channel,
        "occurred_at": message.occurred_at,
        "campaign": _campaign(message),
        "text": _label(message),
        "payload": details,
    }


def _recorded_event(
    source: SourceRef, key: str, message: Message, owner: Located | None, *, label: str | None
) -> DomainEvent:
    customer = owner.external_id if owner else None
    return DomainEvent(
        type="interaction.recorded",
        subject=customer,
        data={
            "interaction": f"{SOURCE_SYSTEM}:{key}",
            "source": source.name,
            "type": message.type,
            "name": label,
            "customer": customer,
            "occurred_at": message.occurred_at.isoformat() if message.occurred_at else None,
        },
    )


__all__ = [
    "SOURCE_SYSTEM",
    "WRITE_KEY_CACHE_SECONDS",
    "SourceRef",
    "authenticate",
    "create_source",
    "disable_source",
    "erase_tracking",
    "list_sources",
    "receive_batch",
    "receive_message",
    "record_messages",
]

"""Screen tracking messages against the erasure suppression list before anything is stored.

An erased person must not come back through a website's SDK any more than
through an import (invariant 7): a message whose traits (email, phone) or
whose userId or previousId (an email, or a ``source:id`` of an erased record)
is on the list is kept only as a stub, for de-duplication and for the count
of what was received: its type, messageId and times, no ids, no traits, no
context, status ``suppressed``. It records no interaction and no event, ties
no id, and finds no profile. A person who came back (the list entry marked
returned by a new sign-up) is tracked again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from amigo.core.config import get_settings
from amigo.privacy.models import SuppressionKind
from amigo.privacy.suppression import SuppressionList, contact_email_key, suppression_secret
from amigo.profiles.service import SOURCE_SYSTEMS
from amigo.quality.phones import normalize_phone
from amigo.tracking.messages import Message

# What a suppressed message keeps of its payload: nothing that names anyone.
_KEPT = ("type", "messageId", "timestamp", "originalTimestamp", "sentAt", "event", "name")


@lru_cache(maxsize=1)
def process_suppression_list() -> SuppressionList:
    """Return the suppression list under the process's key (the setting, else its key file)."""
    return SuppressionList(suppression_secret(get_settings().privacy))


def _sent(message: Message) -> dict[str, Any]:
    """Return the message as sent: a rejected one keeps it under "value"."""
    return sent_part(message.payload)


def sent_part(payload: dict[str, Any]) -> dict[str, Any]:
    """Return a stored payload's message as sent: a rejected one keeps it under "value"."""
    if len(payload) == 1 and isinstance(payload.get("value"), dict):
        return payload["value"]  # type: ignore[no-any-return]
    return payload


def traits_of(message: Message) -> dict[str, Any]:
    """Return a message's traits: ``context.traits`` overlaid by ``traits``."""
    return payload_traits(_sent(message))


def payload_traits(sent: dict[str, Any]) -> dict[str, Any]:
    """Return the traits of a message as sent: ``context.traits`` overlaid by ``traits``."""
    traits: dict[str, Any] = {}
    context = sent.get("context")
    if isinstance(context, dict) and isinstance(context.get("traits"), dict):
        traits.update(context["traits"])
    if isinstance(sent.get("traits"), dict):
        traits.update(sent["traits"])
    return traits


def contact_keys(message: Message) -> tuple[str | None, str | None]:
    """Return the email match key and the E.164 phone of a message's traits."""
    return traits_contacts(traits_of(message))


def traits_contacts(traits: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return the email match key and the E.164 phone that traits give."""
    phone = None
    if isinstance(traits.get("phone"), str):
        # International first; a national number is read as French, as the Client 360's
        # search reads one (profiles.service), the retailer's home market.
        phone = (
            normalize_phone(traits["phone"], region_hint=None).value
            or normalize_phone(traits["phone"], region_hint="FR").value
        )
    return contact_email_key(traits.get("email")), phone


def _identifiers(
    message: Message, contacts: tuple[str | None, str | None]
) -> Iterator[tuple[SuppressionKind, str]]:
    email_key, phone = contacts
    if email_key:
        yield SuppressionKind.EMAIL, email_key
    if phone:
        yield SuppressionKind.PHONE, phone
    sent = _sent(message)
    for raw in (sent.get("userId"), sent.get("previousId")):
        if not isinstance(raw, str):
            continue
        if "@" in raw and (key := contact_email_key(raw)) is not None:
            yield SuppressionKind.EMAIL, key  # a site whose userIds are emails
        system, _, source_id = raw.strip().partition(":")
        if system.lower() in SOURCE_SYSTEMS and source_id.strip():
            yield SuppressionKind.SOURCE, f"{system.lower()}:{source_id.strip()}"


def suppressed_messages(
    connection: Connection,
    messages: Mapping[str, Message],
    contacts: Mapping[int, tuple[str | None, str | None]],
    listed: SuppressionList,
) -> set[str]:
    """Return the keys of the messages about an erased person (one query, if any names one)."""
    hashes = {
        key: [listed.hash(kind, value) for kind, value in _identifiers(m, contacts[m.index])]
        for key, m in messages.items()
    }
    wanted = [h for values in hashes.values() for h in values]
    if not wanted:
        return set()
    found = listed.find(connection, wanted)
    erased = {digest for digest, entry in found.items() if entry.returned_at is None}
    return {key for key, values in hashes.items() if any(h in erased for h in values)}


def stub_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Return what is kept of a message about an erased person: no ids, traits or context."""
    return {field: payload[field] for field in _KEPT if field in payload}


def stub(message: Message) -> Message:
    """Return what is kept of a suppressed message: no ids, traits or context."""
    payload = stub_payload(message.payload)
    return Message(
        index=message.index,
        payload=payload,
        payload_hash=message.payload_hash,
        message_id=message.message_id,
        type=message.type,
        user_id=None,
        anonymous_id=None,
        previous_id=None,
        sent_at=message.sent_at,
        occurred_at=message.occurred_at,
        rejection=message.rejection,
        suppressed=True,
    )


__all__ = [
    "contact_keys",
    "payload_traits",
    "process_suppression_list",
    "sent_part",
    "stub",
    "stub_payload",
    "suppressed_messages",
    "traits_contacts",
    "traits_of",
]

"""What AMIgo tells Shopify: consent changes, loyalty tiers as tags, erasures.

An event consumer (``shopify-outbound``), applied once per event id like the
outbound webhooks (``events.consumers``):

- ``consent.changed`` of email or SMS marketing: the profile's new effective
  state goes to each Shopify account linked to it, with
  ``customerEmailMarketingConsentUpdate`` / ``customerSmsMarketingConsentUpdate``
  (granted: SUBSCRIBED single opt-in; confirmed: SUBSCRIBED confirmed opt-in;
  pending: PENDING; withdrawn: UNSUBSCRIBED; "never asked" cannot be written
  to Shopify and is not sent). An account without an email (or a phone, for
  SMS) is skipped: Shopify refuses the mutation for it.
- ``customer.updated`` naming ``tier``: the tier's tag (``VIP``, ``PREMIUM``,
  the tags the inbound mapping reads) with ``tagsAdd``, the other tier tags
  removed with ``tagsRemove``.
- ``customer.erased``: ``customerRequestDataErasure`` for each Shopify account
  of the person (GDPR art. 19), unless Shopify asked for it
  (``customers/redact`` became the request).

No echo: a consent state decided only by the account's own statement came
from Shopify (a webhook or the backfill) and is not sent back to it; a tier
the account's tags already give is not tagged again. The echo of a push (the
consent webhook Shopify sends after it) records a statement equal to the
state, which changes nothing and emits no event: the loop ends there.

A push that fails every retry, or that Shopify refuses (``userErrors``),
becomes a dead letter (``connector_dead_letter``, the mutation and its
variables sealed) and the event counts as handled: one bad account does not
hold up the others. ``replay_dead_letter`` sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amigo.connectors.models import DeadLetterStatus
from amigo.connectors.state import add_dead_letter, dead_letter_payload, resolve_dead_letter
from amigo.consent.models import ConsentEvent
from amigo.core.clock import utcnow
from amigo.core.db import table_of
from amigo.core.errors import AmigoError, ConflictError
from amigo.events.consumers import CloudEvent, idempotent
from amigo.identity.models import IdentityLink
from amigo.privacy.models import SubjectRequest
from amigo.profiles.models import GoldenCustomer

log = logging.getLogger(__name__)
CONSUMER = "shopify-outbound"
CONNECTOR = "shopify"
links = table_of(IdentityLink)
ledger = table_of(ConsentEvent)
golden = table_of(GoldenCustomer)
requests = table_of(SubjectRequest)

EMAIL_CONSENT = """
mutation customerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}"""
SMS_CONSENT = """
mutation customerSmsMarketingConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}"""
TAGS_ADD = """
mutation tagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
TAGS_REMOVE = """
mutation tagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
ERASURE = """
mutation customerRequestDataErasure($customerId: ID!) {
  customerRequestDataErasure(customerId: $customerId) { customerId userErrors { field message code } }
}"""
MUTATIONS = {
    "customerEmailMarketingConsentUpdate": EMAIL_CONSENT,
    "customerSmsMarketingConsentUpdate": SMS_CONSENT,
    "tagsAdd": TAGS_ADD,
    "tagsRemove": TAGS_REMOVE,
    "customerRequestDataErasure": ERASURE,
}
# AMIgo's consent status -> Shopify's (marketingState, marketingOptInLevel).
_CONSENT_STATES: dict[str, tuple[str, str | None]] = {
    "granted": ("SUBSCRIBED", "SINGLE_OPT_IN"),
    "confirmed": ("SUBSCRIBED", "CONFIRMED_OPT_IN"),
    "pending": ("PENDING", "CONFIRMED_OPT_IN"),
    "withdrawn": ("UNSUBSCRIBED", None),
}
# The tags the inbound mapping reads a tier from; "standard" has none.
TIER_TAGS = {"vip": "VIP", "premium": "PREMIUM"}


class GraphQLCaller(Protocol):
    """What sends a mutation: ``connectors.shopify.admin.AdminClient``."""

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one query or mutation; return the answer's ``data``.

        Args:
            query: the GraphQL document.
            variables: its variables.

        Returns:
            The ``data`` object; transient failures retried inside, the rest raised.
        """
        ...


class PushRefusedError(AmigoError):
    """Shopify answered the mutation with userErrors: sending it again would not help."""

    code = "shopify_refused"
    http_status = 502


@dataclass(frozen=True)
class Push:
    """One mutation for one Shopify account."""

    operation: str  # a key of MUTATIONS
    target: str  # "customer:<Shopify id>"
    variables: dict[str, Any]


@dataclass
class PushReport:
    """What handling one event did."""

    sent: list[Push] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why an account got nothing
    dead_letters: list[int] = field(default_factory=list)


def _gid(source_id: str) -> str:
    return f"gid://shopify/Customer/{source_id}"


def _accounts(session: Session, external_id: str) -> list[Any]:
    """Return the open Shopify links of the active profile with this public id."""
    return list(
        session.execute(
            select(links.c.source_id, links.c.email, links.c.phone, links.c.tier)
            .join(golden, golden.c.id == links.c.customer_id)
            .where(
                golden.c.external_id == external_id,
                links.c.source_system == CONNECTOR,
                links.c.closed.is_(False),
            )
            .order_by(links.c.source_id)
        )
    )


def _decided_by_account(session: Session, decided_by: Sequence[int]) -> set[str]:
    """Return the Shopify accounts whose own statements alone decided the state."""
    if not decided_by:
        return set()
    rows = session.execute(
        select(ledger.c.source_system, ledger.c.source_id).where(
            ledger.c.id.in_([int(i) for i in decided_by])
        )
    ).all()
    systems = {(str(r.source_system), r.source_id) for r in rows}
    if len(systems) == 1:
        ((system, source_id),) = systems
        if system == CONNECTOR and source_id is not None:
            return {str(source_id)}
    return set()


def plan_consent(session: Session, data: Mapping[str, Any]) -> tuple[list[Push], list[str]]:
    """Return the consent mutations a consent.changed event calls for, and the skips."""
    purpose, status = data.get("purpose"), str(data.get("status"))
    if purpose not in ("email_marketing", "sms_marketing"):
        return [], []
    state = _CONSENT_STATES.get(status)
    if state is None:
        return [], [f"{status}: Shopify has no such state to write"]
    echo = _decided_by_account(session, data.get("decided_by") or [])
    marketing_state, level = state
    consent: dict[str, Any] = {"marketingState": marketing_state}
    if level is not None:
        consent["marketingOptInLevel"] = level
    if data.get("since"):
        consent["consentUpdatedAt"] = data["since"]
    pushes, skipped = [], []
    for account in _accounts(session, str(data.get("customer"))):
        target = f"customer:{account.source_id}"
        if account.source_id in echo:
            skipped.append(f"{target}: its own statement (echo)")
        elif purpose == "email_marketing":
            if not account.email:
                skipped.append(f"{target}: no email in Shopify")
                continue
            pushes.append(
                Push(
                    "customerEmailMarketingConsentUpdate",
                    target,
                    {
                        "input": {
                            "customerId": _gid(account.source_id),
                            "emailMarketingConsent": consent,
                        }
                    },
                )
            )
        elif not account.phone:
            skipped.append(f"{target}: no phone in Shopify")
        else:
            pushes.append(
                Push(
                    "customerSmsMarketingConsentUpdate",
                    target,
                    {
                        "input": {
                            "customerId": _gid(account.source_id),
                            "smsMarketingConsent": consent,
                        }
                    },
                )
            )
    return pushes, skipped


def plan_tier(session: Session, data: Mapping[str, Any]) -> tuple[list[Push], list[str]]:
    """Return the tag mutations a customer.updated naming the tier calls for."""
    if "tier" not in (data.get("fields") or []):
        return [], []
    external_id = str(data.get("customer"))
    tier = session.scalar(select(golden.c.tier).where(golden.c.external_id == external_id))
    if tier is None:
        return [], []
    tier = str(getattr(tier, "value", tier))
    wanted = TIER_TAGS.get(tier)
    others = sorted(tag for tag in TIER_TAGS.values() if tag != wanted)
    pushes, skipped = [], []
    for account in _accounts(session, external_id):
        target = f"customer:{account.source_id}"
        if account.tier == tier:
            skipped.append(f"{target}: its tags already give {tier} (echo)")
            continue
        gid = _gid(account.source_id)
        if wanted is not None:
            pushes.append(Push("tagsAdd", target, {"id": gid, "tags": [wanted]}))
        pushes.append(Push("tagsRemove", target, {"id": gid, "tags": others}))
    return pushes, skipped


def plan_erasure(session: Session, data: Mapping[str, Any]) -> tuple[list[Push], list[str]]:
    """Return the erasure requests a customer.erased event calls for."""
    accounts = [
        str(source.get("id"))
        for source in data.get("sources") or []
        if source.get("system") == CONNECTOR and source.get("id")
    ]
    reference = str(data.get("request") or "")
    if reference.startswith("DSR-") and reference[4:].isdigit():
        channel = session.scalar(
            select(requests.c.channel).where(requests.c.id == int(reference[4:]))
        )
        if channel == CONNECTOR:
            return [], [f"customer:{a}: Shopify asked for this erasure" for a in accounts]
    return [
        Push("customerRequestDataErasure", f"customer:{a}", {"customerId": _gid(a)})
        for a in accounts
        # An erased link's id is a pseudonym ("erased:..."): nothing Shopify knows.
        if a.isdigit()
    ], []


PLANNERS: dict[str, Callable[[Session, Mapping[str, Any]], tuple[list[Push], list[str]]]] = {
    "consent.changed": plan_consent,
    "customer.updated": plan_tier,
    "customer.erased": plan_erasure,
}


def send(push: Push, client: GraphQLCaller) -> None:
    """Send one mutation; raise PushRefusedError on Shopify's userErrors."""
    data = client.graphql(MUTATIONS[push.operation], push.variables)
    result = data.get(push.operation) or {}
    errors = [e for e in result.get("userErrors") or [] if isinstance(e, dict)]
    # An erasure of an account Shopify no longer has is done, not failed.
    if (
        errors
        and push.operation == "customerRequestDataErasure"
        and all(e.get("code") == "DOES_NOT_EXIST" for e in errors)
    ):
        return
    if errors:
        said = "; ".join(str(e.get("message")) for e in errors)
        raise PushRefusedError(f"Shopify refused {push.operation} for {push.target}: {said}")


def push_event(
    *, session: Session, event: CloudEvent, client: GraphQLCaller, now: datetime
) -> PushReport:
    """Send what one event calls for; a push that fails becomes a dead letter."""
    report = PushReport()
    planner = PLANNERS.get(str(event.get("type")))
    if planner is None:
        return report
    pushes, report.skipped = planner(session, event.get("data") or {})
    for push in pushes:
        try:
            send(push, client)
        except AmigoError as error:  # PeerUnavailableError, PushRefusedError, 401...
            letter = add_dead_letter(
                session=session,
                connector=CONNECTOR,
                operation=push.operation,
                target=push.target,
                payload={"variables": push.variables, "event": event.get("id")},
                error=error.message,
                attempts=1,
                now=now,
            )
            report.dead_letters.append(letter)
            log.warning(
                "shopify push %s for %s failed: dead letter %s", push.operation, push.target, letter
            )
        else:
            report.sent.append(push)
    return report


@dataclass
class PushTally:
    """What a consumer pushed since it started: for the relay's and the command's summary."""

    sent: int = 0
    skipped: int = 0
    dead_letters: int = 0

    def add(self, report: PushReport) -> None:
        """Count one event's pushes."""
        self.sent += len(report.sent)
        self.skipped += len(report.skipped)
        self.dead_letters += len(report.dead_letters)

    def line(self) -> str:
        """Return the summary line."""
        return (
            f"Shopify pushes: {self.sent:,} sent, {self.skipped:,} skipped (echoes, accounts "
            f"without an email or phone), {self.dead_letters:,} dead letters"
        )


def outbound_consumer(
    engine: Engine, client: GraphQLCaller, tally: PushTally | None = None
) -> Callable[[CloudEvent], None]:
    """Return the bus handler that pushes each event once (by event id)."""

    def apply(session: Session, event: CloudEvent) -> None:
        report = push_event(session=session, event=event, client=client, now=utcnow())
        if tally is not None:
            tally.add(report)

    return idempotent(engine, CONSUMER, apply)


def replay_dead_letter(
    *, session: Session, letter_id: int, client: GraphQLCaller, now: datetime
) -> bool:
    """Send a Shopify dead letter again; True when delivered (it is then resolved)."""
    letter, payload = dead_letter_payload(session=session, letter_id=letter_id)
    if letter.connector != CONNECTOR or letter.operation not in MUTATIONS:
        raise ConflictError(
            f"dead letter {letter_id} is not a Shopify push ({letter.connector} {letter.operation})",
            code="not_a_shopify_push",
        )
    push = Push(letter.operation, letter.target or "", dict(payload.get("variables") or {}))
    try:
        send(push, client)
    except AmigoError as error:
        resolve_dead_letter(
            session=session,
            letter_id=letter_id,
            status=DeadLetterStatus.DEAD,
            error=error.message,
            now=now,
        )
        return False
    resolve_dead_letter(
        session=session, letter_id=letter_id, status=DeadLetterStatus.REPLAYED, now=now
    )
    return True


__all__ = [
    "CONSUMER",
    "MUTATIONS",
    "GraphQLCaller",
    "Push",
    "PushRefusedError",
    "PushReport",
    "PushTally",
    "outbound_consumer",
    "push_event",
    "replay_dead_letter",
    "send",
]

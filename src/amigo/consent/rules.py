"""How statements become a state: what each source's values mean, and who wins a conflict.

Pure functions, no database. The rule (invariant 4):

- A statement is *superseded* when another one certainly came after it. Two
  statements about the same source record: the later one (by time, then by
  arrival) is that source's current say. Otherwise a statement with an exact
  time (the person acted then: a form, a click, a webhook) supersedes every
  statement known to hold at an earlier time. A POS export only says that the
  value held when the record was last modified, and a statement without a
  time only that it held when AMIgo received it: neither orders itself
  against anything else.
- Among the statements no other supersedes, the most restrictive wins:
  withdrawn, then pending, then granted, then confirmed. That settles sources
  that disagree without a reliable order (an initial load, the same instant,
  missing timestamps), and profiles that merge.
- "Never asked" (Y2's default ``AskCustomer``, Shopify's ``not_subscribed``, an
  unticked box) is the absence of an action: it never overrides another
  source's statement, only that same source's earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from amigo.consent.models import ConsentStatus, TimeBasis

# (source system, lower-cased raw value) -> status. Values outside it carry no
# statement: the raw consent and its validation issue keep them.
SOURCE_VALUES: dict[tuple[str, str], ConsentStatus] = {
    # Cegid Y2's CustomerInformationType.
    ("cegid", "askcustomer"): ConsentStatus.NEVER_ASKED,
    ("cegid", "brandonly"): ConsentStatus.GRANTED,
    ("cegid", "forpartners"): ConsentStatus.GRANTED,
    ("cegid", "donotuse"): ConsentStatus.WITHDRAWN,
    # Shopify's marketing consent states; "subscribed" is confirmed with a confirmed opt-in level.
    ("shopify", "subscribed"): ConsentStatus.GRANTED,
    ("shopify", "not_subscribed"): ConsentStatus.NEVER_ASKED,
    ("shopify", "pending"): ConsentStatus.PENDING,
    ("shopify", "unsubscribed"): ConsentStatus.WITHDRAWN,
    ("shopify", "redacted"): ConsentStatus.WITHDRAWN,
    ("shopify", "invalid"): ConsentStatus.WITHDRAWN,  # undeliverable: never to be used
    ("shopify", "accepts_marketing:true"): ConsentStatus.GRANTED,
    ("shopify", "accepts_marketing:false"): ConsentStatus.NEVER_ASKED,
    # A web form's box, ticked or shown and left unticked.
    ("webforms", "true"): ConsentStatus.GRANTED,
    ("webforms", "false"): ConsentStatus.NEVER_ASKED,
}
CONFIRMED_OPT_IN = "confirmed_opt_in"
# What a source's consent time means: Y2 gives the record's last modification only.
SOURCE_TIME_BASIS: dict[str, TimeBasis] = {
    "cegid": TimeBasis.AS_OF,
    "shopify": TimeBasis.EXACT,
    "webforms": TimeBasis.EXACT,
}
SOURCE_CHANNELS = {"cegid": "store", "shopify": "shopify", "webforms": "web_form"}

# Most restrictive first.
_RESTRICTIVENESS = {
    ConsentStatus.WITHDRAWN: 0,
    ConsentStatus.PENDING: 1,
    ConsentStatus.GRANTED: 2,
    ConsentStatus.CONFIRMED: 3,
}
ALLOWS_CONTACT = frozenset({ConsentStatus.GRANTED, ConsentStatus.CONFIRMED})


def source_status(
    system: str, raw_value: str | None, opt_in_level: str | None
) -> ConsentStatus | None:
    """Return what a source's raw consent value states, None when it states nothing known."""
    if raw_value is None:
        return None
    status = SOURCE_VALUES.get((system, raw_value.strip().lower()))
    if (
        status is ConsentStatus.GRANTED
        and system == "shopify"
        and (opt_in_level or "").strip().lower() == CONFIRMED_OPT_IN
    ):
        return ConsentStatus.CONFIRMED
    return status


def time_basis(system: str, stated_at: datetime | None) -> TimeBasis:
    """Return what a source statement's time says about when the person acted."""
    if stated_at is None:
        return TimeBasis.UNKNOWN
    return SOURCE_TIME_BASIS.get(system, TimeBasis.AS_OF)


@dataclass(frozen=True, slots=True)
class Statement:
    """A ledger row as the rule sees it."""

    ledger_id: int  # also the arrival order
    status: ConsentStatus
    occurred_at: datetime | None
    basis: TimeBasis
    recorded_at: datetime
    subject: tuple[str, str] | None  # the source record it is about; None when made to AMIgo

    @property
    def held_at(self) -> datetime:
        """Return the latest time the statement is known to have been made by."""
        if self.basis is TimeBasis.UNKNOWN or self.occurred_at is None:
            return self.recorded_at
        return self.occurred_at


@dataclass(frozen=True, slots=True)
class Decision:
    """The effective state and the statements that decided it."""

    status: ConsentStatus
    decided_by: tuple[int, ...]
    since: datetime | None

    @property
    def allows_contact(self) -> bool:
        """Return whether the state is consent (pending and never asked are not)."""
        return self.status in ALLOWS_CONTACT


NEVER_ASKED = Decision(ConsentStatus.NEVER_ASKED, (), None)


def supersedes(later: Statement, earlier: Statement) -> bool:
    """Return whether ``later`` certainly came after ``earlier``."""
    if later.subject is not None and later.subject == earlier.subject:
        return (later.held_at, later.ledger_id) > (earlier.held_at, earlier.ledger_id)
    if later.status is ConsentStatus.NEVER_ASKED:
        return False
    return (
        later.basis is TimeBasis.EXACT
        and later.occurred_at is not None
        and later.occurred_at > earlier.held_at
    )


def decide(statements: Sequence[Statement]) -> Decision:
    """Return the effective state of one person and purpose from all their statements."""
    if not statements:
        return NEVER_ASKED
    current = [s for s in statements if not any(supersedes(o, s) for o in statements if o is not s)]
    stated = [s for s in current if s.status is not ConsentStatus.NEVER_ASKED]
    if not stated:
        latest = max(current, key=lambda s: (s.held_at, s.ledger_id))
        return Decision(ConsentStatus.NEVER_ASKED, (latest.ledger_id,), latest.held_at)
    winner = min(_RESTRICTIVENESS[s.status] for s in stated)
    deciding = sorted(
        (s for s in stated if _RESTRICTIVENESS[s.status] == winner), key=lambda s: s.ledger_id
    )
    return Decision(
        deciding[0].status,
        tuple(s.ledger_id for s in deciding),
        max(s.held_at for s in deciding),
    )

"""The Y2 fields AMIgo writes, and the decision of each: send it, or leave Y2's value.

Pure functions, no database (``outbound.py`` gathers the values and sends).
The rules are described in ``docs/cegid-outbound.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from amigo.consent.rules import source_status
from amigo.profiles.survivorship import SOURCE_PRIORITY

TIER_COLUMN = "UserDefinedText1"
STORE_COLUMN = "UsualStoreId"
ASSOCIATE_COLUMN = "SalesPersonId"
# Consent purpose -> Y2 column (the inverse of mapping._OPTINS; phone calls are not pushed).
OPTIN_COLUMNS = {
    "email_marketing": "OptinEmail",
    "sms_marketing": "OptinMobile",
    "postal_mail": "OptinPostal",
}
ASK_CUSTOMER = "AskCustomer"
# Effective consent state -> Y2 CustomerInformationType (Wallet Crew's true/false mapping,
# with the states that are not consent left for the store to ask).
Y2_OPTIN = {
    "granted": "BrandOnly",
    "confirmed": "BrandOnly",
    "withdrawn": "DoNotUse",
    "pending": ASK_CUSTOMER,
    "never_asked": ASK_CUSTOMER,
}
# Statements made to AMIgo itself (preference center, unsubscribe) rank with a rectification.
_PRIORITY = {**SOURCE_PRIORITY, "amigo": 0}


def golden_id_column(slot: int) -> str:
    """Return the customers.csv column of the UserDefinedText holding the golden id."""
    return f"UserDefinedText{slot}"


def enrichment_columns(slot: int) -> tuple[str, ...]:
    """Return the Y2 columns AMIgo writes, in the import file's order."""
    return (
        TIER_COLUMN,
        golden_id_column(slot),
        *OPTIN_COLUMNS.values(),
        STORE_COLUMN,
        ASSOCIATE_COLUMN,
    )


class Outcome(enum.StrEnum):
    SEND = "send"  # AMIgo's value goes to Y2
    HELD = "held"  # Y2 already holds it
    ECHO = "echo"  # Y2 holds it because AMIgo wrote it: the echo, not bounced back
    AWAITING = "awaiting"  # sent; Y2 has not sent it back yet
    Y2_NEWER = "y2_newer"  # Y2 changed it after AMIgo decided: Y2's change stays
    NO_STATEMENT = "no_statement"  # AskCustomer never replaces a consent Y2 holds


@dataclass(frozen=True)
class Wanted:
    """A value AMIgo wants Y2 to hold, when it was decided and which source decided it."""

    value: str
    decided_at: datetime
    source: str


@dataclass(frozen=True)
class Sent:
    """A value AMIgo wrote into a Y2 field earlier."""

    value: str | None
    sent_at: datetime


def same_value(column: str, left: str | None, right: str | None) -> bool:
    """Return whether two Y2 values say the same (opt-ins by meaning: ForPartners is consent)."""
    if left is None or right is None:
        return left is None and right is None
    if column in OPTIN_COLUMNS.values():
        meaning = source_status("cegid", left, None)
        return meaning is not None and meaning == source_status("cegid", right, None)
    return left.strip().upper() == right.strip().upper()


def decide(
    column: str,
    wanted: Wanted,
    *,
    held: str | None,
    held_at: datetime | None,
    sent: Sent | None,
) -> Outcome:
    """Return whether one field goes to Y2, given what Y2 holds and what AMIgo sent before."""
    ours = sent is not None and same_value(column, sent.value, wanted.value)
    if same_value(column, held, wanted.value):
        return Outcome.ECHO if ours else Outcome.HELD
    if wanted.value == ASK_CUSTOMER and held is not None:
        return Outcome.NO_STATEMENT
    # Written, and Y2 has said nothing of the field since (or does not report it back).
    if ours and sent is not None and (held is None or held_at is None or held_at <= sent.sent_at):
        return Outcome.AWAITING
    # Y2's value is its own change unless it is what AMIgo wrote there last.
    y2_change = held is not None and not (sent is not None and same_value(column, sent.value, held))
    if y2_change and held_at is not None:
        if held_at > wanted.decided_at:
            return Outcome.Y2_NEWER
        if held_at == wanted.decided_at and _PRIORITY.get(wanted.source, 99) >= _PRIORITY["cegid"]:
            return Outcome.Y2_NEWER
    return Outcome.SEND


def source_priority(source: str) -> int:
    """Return a source's rank on ties: lower wins (a person's say to AMIgo, Cegid, Shopify...)."""
    return _PRIORITY.get(source, 99)


__all__ = [
    "ASK_CUSTOMER",
    "ASSOCIATE_COLUMN",
    "OPTIN_COLUMNS",
    "STORE_COLUMN",
    "TIER_COLUMN",
    "Y2_OPTIN",
    "Outcome",
    "Sent",
    "Wanted",
    "decide",
    "enrichment_columns",
    "golden_id_column",
    "same_value",
    "source_priority",
]

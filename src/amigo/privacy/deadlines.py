"""The GDPR's deadlines (article 12(3)): one month from receipt, extendable by two more."""

from __future__ import annotations

from datetime import datetime

from dateutil.relativedelta import relativedelta

RESPONSE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def due_date(received_at: datetime) -> datetime:
    """Return when the answer is due: the same day of the next month (month ends clamp)."""
    return received_at + relativedelta(months=RESPONSE_MONTHS)


def latest_due_date(received_at: datetime) -> datetime:
    """Return the furthest an extension can push the due date."""
    return received_at + relativedelta(months=RESPONSE_MONTHS + MAX_EXTENSION_MONTHS)


def extended_due_date(received_at: datetime, due_at: datetime, months: int) -> datetime | None:
    """Return the due date extended by some months, None when beyond the two allowed."""
    extended = due_at + relativedelta(months=months)
    return extended if months >= 1 and extended <= latest_due_date(received_at) else None

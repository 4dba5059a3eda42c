"""Normalization and validation of customer data: pure functions, no database.

Every normalizer takes the raw text (or None) and returns a ``Normalized``: the
clean value, or None with a ``ValidationIssue`` saying why. None of them raises,
and each is idempotent on its own output.
"""

from amigo.quality.addresses import (
    normalize_address_line,
    normalize_city,
    normalize_country,
    normalize_postal_code,
)
from amigo.quality.amounts import parse_amount, parse_bool, parse_int
from amigo.quality.dates import birth_date_from_parts, parse_date, parse_timestamp
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.issues import Normalized, ValidationIssue
from amigo.quality.names import name_match_key, normalize_name
from amigo.quality.phones import normalize_phone

__all__ = [
    "Normalized",
    "ValidationIssue",
    "birth_date_from_parts",
    "email_match_key",
    "name_match_key",
    "normalize_address_line",
    "normalize_city",
    "normalize_country",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_postal_code",
    "parse_amount",
    "parse_bool",
    "parse_date",
    "parse_int",
    "parse_timestamp",
]

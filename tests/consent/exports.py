"""Hand-made exports of a few people, with the consents each source states for them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amigo.synth.cegid import CUSTOMER_COLUMNS

# The Y2 customer export's columns, as the generator writes them.
CEGID_COLUMNS = CUSTOMER_COLUMNS


def cegid_customer(customer_id: str, email: str, modified: str, **optins: str) -> dict[str, str]:
    """Return a Y2 customer row; ``modified`` is LastModificationDate (dd/mm/yyyy hh:mm:ss)."""
    row = dict.fromkeys(CEGID_COLUMNS, "")
    row.update(
        CustomerId=customer_id,
        TitleId="MRS",
        FirstName="Agathe",
        LastName="Roussel",
        Email=email,
        CountryId="FRA",
        LanguageId="FR",
        IsProspect="0",
        OptinEmail="AskCustomer",
        OptinMobile="AskCustomer",
        OptinPostal="AskCustomer",
        OptinHomePhone="AskCustomer",
        UserDefinedText1="STANDARD",
        CreationDate="02/01/2024 10:00:00",
        LastModificationDate=modified,
        Closed="0",
    )
    row.update(optins)
    return row


def shopify_customer(
    customer_id: int,
    email: str,
    *,
    email_consent: dict[str, Any] | None = None,
    sms_consent: dict[str, Any] | None = None,
    updated_at: str = "2025-01-10T09:00:00+01:00",
) -> dict[str, Any]:
    """Return a Shopify customer resource with its marketing consent objects."""
    return {
        "id": customer_id,
        "email": email,
        "first_name": "Agathe",
        "last_name": "Roussel",
        "created_at": "2024-03-01T12:00:00+01:00",
        "updated_at": updated_at,
        "state": "enabled",
        "verified_email": True,
        "tags": "",
        "currency": "EUR",
        "phone": None,
        "addresses": [],
        "email_marketing_consent": email_consent,
        "sms_marketing_consent": sms_consent,
    }


def submission(
    submission_id: str, email: str, submitted_at: str, **consents: bool
) -> dict[str, Any]:
    """Return a web-form submission with its boxes, wording version, IP and user agent."""
    return {
        "submission_id": submission_id,
        "form": "newsletter",
        "submitted_at": submitted_at,
        "locale": "fr-FR",
        "fields": {"email": email, "first_name": "Agathe", "last_name": "Roussel"},
        "consents": consents,
        "consent_text_version": "nl-2025-01",
        "ip": "198.51.100.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
    }


def write_export(
    directory: Path,
    *,
    cegid: Sequence[dict[str, str]] = (),
    shopify: Sequence[dict[str, Any]] = (),
    webforms: Sequence[dict[str, Any]] = (),
) -> Path:
    """Write the given records as an export directory (docs/formats.md) and return it."""
    if cegid:
        (directory / "cegid").mkdir(parents=True, exist_ok=True)
        lines = [";".join(CEGID_COLUMNS)] + [";".join(r[c] for c in CEGID_COLUMNS) for r in cegid]
        (directory / "cegid" / "customers.csv").write_text("\n".join(lines) + "\n", "utf-8")
    for folder, name, rows in (
        ("shopify", "customers.jsonl", shopify),
        ("webforms", "submissions.jsonl", webforms),
    ):
        if rows:
            (directory / folder).mkdir(parents=True, exist_ok=True)
            (directory / folder / name).write_text(
                "".join(json.dumps(r) + "\n" for r in rows), "utf-8"
            )
    return directory

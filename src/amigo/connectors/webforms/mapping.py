"""Web sign-up form submissions and tracked interactions (JSON objects) to facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from amigo.connectors.base import (
    Issues,
    Rejected,
    RowMapper,
    bounded,
    key_text,
    language_code,
    locale_region,
    mapping,
    new_issue,
    rejecting,
    require,
    require_id,
    require_text,
    text,
    type_issue,
)
from amigo.connectors.shopify.mapping import shopify_id
from amigo.ingest.facts import (
    ConsentFacts,
    CustomerFacts,
    InteractionFacts,
    MappingContext,
    MappingResult,
)
from amigo.quality.addresses import normalize_city, normalize_country, normalize_postal_code
from amigo.quality.dates import parse_date, parse_timestamp
from amigo.quality.emails import email_match_key, normalize_email
from amigo.quality.names import normalize_name
from amigo.quality.phones import normalize_phone

SOURCE = "webforms"

_SOURCE_ID_MAX = 80
_INTERACTION_ID_MAX = 60
_TYPE_MAX = 30
_CHANNEL_MAX = 20
_CAMPAIGN_MAX = 100

# The purposes a form may ask about; anything else is a form we do not know how to read.
_PURPOSES = frozenset(
    {"email_marketing", "sms_marketing", "phone_calls", "postal_mail", "data_analysis"}
)
_CUSTOMER_SOURCES = frozenset({"cegid", "shopify", "webforms"})


def submission_key(row: dict[str, Any]) -> str | None:
    """Return the submission's id."""
    return key_text(row.get("submission_id"))


def interaction_key(row: dict[str, Any]) -> str | None:
    """Return the interaction's id."""
    return key_text(row.get("interaction_id"))


@rejecting
def map_submission(row: dict[str, Any], ctx: MappingContext) -> MappingResult[CustomerFacts]:
    """Map a submissions.jsonl object; reject it only when nothing could identify the person."""
    issues = Issues()
    submission_id = require_id(submission_key(row), _SOURCE_ID_MAX)
    fields = mapping(row.get("fields"), "fields", issues) or {}
    raw_locale = text(row.get("locale"), "preferred_language", issues)

    country = issues.take(normalize_country(text(fields.get("country"), "country", issues)))
    # Without a (valid) country, the visitor's locale ("fr-FR") is the best hint.
    region_hint = country or locale_region(raw_locale)
    email = issues.take(normalize_email(text(fields.get("email"), "email", issues)))
    phone = issues.take(
        normalize_phone(text(fields.get("phone"), "phone", issues), region_hint=region_hint)
    )
    last_name = issues.take(
        normalize_name(text(fields.get("last_name"), "last_name", issues), field="last_name")
    )
    birth_date = issues.take(parse_date(text(fields.get("birth_date"), "birth_date", issues)))
    postal_code = issues.take(
        normalize_postal_code(
            text(fields.get("postal_code"), "postal_code", issues), country=region_hint
        )
    )
    if email is None and phone is None and not (last_name and (birth_date or postal_code)):
        return issues.reject(_UNIDENTIFIABLE)

    submitted_at = issues.take(
        parse_timestamp(text(row.get("submitted_at"), "created_at", issues), field="created_at")
    )
    return issues.done(
        CustomerFacts(
            source_system=SOURCE,
            source_id=submission_id,
            origin="web form",
            email=email,
            email_match_key=None if email is None else email_match_key(email),
            first_name=issues.take(
                normalize_name(text(fields.get("first_name"), "first_name", issues))
            ),
            last_name=last_name,
            phone=phone,
            birth_date=birth_date,
            preferred_language=issues.take(language_code(raw_locale)),
            postal_code=postal_code,
            city=issues.take(normalize_city(text(fields.get("city"), "city", issues))),
            country=country,
            created_at=submitted_at,
            observed_at=submitted_at,
            consents=_consents(row, submission_id, submitted_at, issues),
        )
    )


_UNIDENTIFIABLE = new_issue(
    "record",
    "unidentifiable",
    "The submission has no valid email, no valid phone, and no last name with a birth date "
    "or postal code: nothing could tie it to a person.",
)


def _consents(
    row: dict[str, Any], submission_id: str, submitted_at: datetime | None, issues: Issues
) -> tuple[ConsentFacts, ...]:
    """Return one consent per box the form showed, ticked (true) or not (false)."""
    boxes = mapping(row.get("consents"), "consents", issues)
    if not boxes:
        return ()
    proof = {
        "source": SOURCE,
        "form": _proof_text(row.get("form")),
        "consent_text_version": _proof_text(row.get("consent_text_version")),
        "ip": _proof_text(row.get("ip")),
        "user_agent": _proof_text(row.get("user_agent")),
        "submission_id": submission_id,
    }
    consents: list[ConsentFacts] = []
    for purpose, ticked in boxes.items():
        if purpose not in _PURPOSES:
            issues.add(
                new_issue(
                    "consents", "unknown_purpose", "{value} is not a consent purpose.", purpose
                )
            )
            continue
        if not isinstance(ticked, bool):
            if ticked is not None:
                issues.add(type_issue("consent." + purpose, "a boolean", ticked))
            continue
        consents.append(
            ConsentFacts(
                purpose=purpose,
                raw_value="true" if ticked else "false",
                opt_in_level="single_opt_in" if ticked else None,
                stated_at=submitted_at,
                # Each consent gets its own copy: the ledger may store or change it.
                proof=dict(proof),
            )
        )
    return tuple(consents)


def _proof_text(value: Any) -> str | None:
    """Return a proof value as text, dropping what is not text (proof is stored as JSON)."""
    if not isinstance(value, str):
        return None
    return value.strip()[:500] or None


@rejecting
def map_interaction(row: dict[str, Any], ctx: MappingContext) -> MappingResult[InteractionFacts]:
    """Map an interactions.jsonl object; its type, channel, time and customer are required."""
    issues = Issues()
    interaction_id = require_id(interaction_key(row), _INTERACTION_ID_MAX)
    kind = require_text(
        text(row.get("type"), "type", issues), "type", "The interaction has no type.", _TYPE_MAX
    )
    channel = require_text(
        text(row.get("channel"), "channel", issues),
        "channel",
        "The interaction has no channel.",
        _CHANNEL_MAX,
    )
    occurred_at = require(
        parse_timestamp(text(row.get("occurred_at"), "occurred_at", issues), field="occurred_at"),
        "occurred_at",
        "The interaction has no occurred_at.",
    )
    customer_system, customer_id = _customer(row.get("customer"))
    payload = mapping(row.get("properties"), "payload", issues)
    return issues.done(
        InteractionFacts(
            source_system=SOURCE,
            source_interaction_id=interaction_id,
            customer_source_system=customer_system,
            customer_source_id=customer_id,
            type=kind.lower(),
            channel=channel.lower(),
            occurred_at=occurred_at,
            campaign=bounded(
                text(row.get("campaign"), "campaign", issues), _CAMPAIGN_MAX, "campaign", issues
            ),
            text=text(row.get("text"), "text", issues),
            payload=payload,
        )
    )


def _customer(value: Any) -> tuple[str, str]:
    """Return the (source system, source id) the interaction belongs to, or reject the row."""
    if not isinstance(value, dict):
        raise Rejected(
            new_issue("customer", "missing_customer", "The interaction names no customer.")
        )
    system = key_text(value.get("source"))
    system = None if system is None else system.lower()
    if system is None:
        raise Rejected(
            new_issue("customer", "missing_customer", "The interaction's customer has no source.")
        )
    if system not in _CUSTOMER_SOURCES:
        raise Rejected(
            new_issue(
                "customer", "missing_customer", "{value} is not cegid, shopify or webforms.", system
            )
        )
    # Tracking snippets send Shopify's GraphQL ids as often as its REST ones.
    customer_id = shopify_id(value.get("id")) if system == "shopify" else key_text(value.get("id"))
    if customer_id is None or len(customer_id) > _SOURCE_ID_MAX:
        raise Rejected(
            new_issue(
                "customer", "missing_customer", "The interaction's customer has no usable id."
            )
        )
    return system, customer_id


SUBMISSIONS: RowMapper[CustomerFacts] = RowMapper(
    entity="submission", required=("submission_id",), key=submission_key, map=map_submission
)
INTERACTIONS: RowMapper[InteractionFacts] = RowMapper(
    entity="interaction",
    required=("interaction_id", "type", "channel", "occurred_at", "customer"),
    key=interaction_key,
    map=map_interaction,
)

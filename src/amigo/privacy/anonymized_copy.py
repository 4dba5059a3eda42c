"""An anonymized copy of the repository for test environments (`amigo privacy anonymized-copy`).

Every table is copied row for row, ids kept, so that every reference still
holds (an order still points at its customer and its identity link, a
merge at its two profiles). What names or reaches a person is replaced:

- names, emails, phones, street lines and IP addresses by pseudonyms keyed
  with a random key made for this copy and then forgotten: the same value
  gets the same pseudonym everywhere (a profile and its links still agree,
  a duplicate still looks like one), and nobody can map them back;
- an email keeps its domain and a phone its country and first digits, so the
  mix of providers and of mobile and landline numbers stays as it was;
- birth dates move by up to 45 days, the same shift for the same date;
- free text (notes, interaction text, request details, rejected raw rows,
  validation values) is dropped;
- source payloads get the same treatment, key by key, so that a reload in the
  test environment reads plausible records.

Dates of orders and interactions, amounts, stores, products, consents and
identity decisions are kept: they are what a test environment needs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, bindparam, delete, func, insert, select, text, update

import amigo.models  # noqa: F401 - registers every table
from amigo.core.config import EncryptionSettings
from amigo.core.crypto import FieldCrypto, crypto_from_settings, using_crypto
from amigo.core.db import Base
from amigo.core.errors import InvalidInputError
from amigo.core.keycheck import key_checks, record_checks
from amigo.core.migrate import upgrade
from amigo.identity.keys import distinct_local_part, name_keys
from amigo.identity.snapshot import link_indexes
from amigo.privacy.suppression import ORDER_CONTACT_SYSTEMS, order_contact_index
from amigo.profiles.survivorship import contact_indexes
from amigo.quality.emails import email_match_key, normalize_email

_FIRST_KEYS = frozenset({"first_name", "firstname", "givenname"})
_LAST_KEYS = frozenset({"last_name", "lastname", "familyname"})
_EMAIL_KEYS = frozenset({"email", "contact_email", "alternativeemail"})
_PHONE_KEYS = frozenset({"phone", "cellularphonenumber", "homephonenumber", "telephone"})
_STREET_KEYS = frozenset(
    {"address1", "address2", "addressline1", "addressline2", "addressline3", "address_line1",
     "address_line2", "streetaddress"}
)  # fmt: skip
_IP_KEYS = frozenset({"ip", "browser_ip"})
_PHONE_PUNCTUATION = frozenset("+ ()-./")
_BIRTH_KEYS = frozenset({"birth_date", "birthdate"})
_DROPPED_KEYS = frozenset({"note", "text", "company", "note_attributes", "usertext"})
_STREET_WORDS = ("rue", "avenue", "chemin", "allée", "boulevard", "place", "impasse")
MAX_SHIFT_DAYS = 45


@cache
def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the pools of first and last names pseudonyms are drawn from."""
    # Faker's name lists are imported on first use: at import they cost every
    # `amigo` command 0.2 s.
    from faker.providers.person.de_DE import Provider as GermanNames  # noqa: PLC0415
    from faker.providers.person.en_GB import Provider as BritishNames  # noqa: PLC0415
    from faker.providers.person.en_US import Provider as AmericanNames  # noqa: PLC0415
    from faker.providers.person.es_ES import Provider as SpanishNames  # noqa: PLC0415
    from faker.providers.person.fr_FR import Provider as FrenchNames  # noqa: PLC0415
    from faker.providers.person.it_IT import Provider as ItalianNames  # noqa: PLC0415

    first: set[str] = set()
    last: set[str] = set()
    for provider in (
        FrenchNames,
        AmericanNames,
        BritishNames,
        GermanNames,
        ItalianNames,
        SpanishNames,
    ):
        first.update(getattr(provider, "first_names", ()))
        last.update(getattr(provider, "last_names", ()))
    return tuple(sorted(first)), tuple(sorted(last))


class Pseudonyms:
    """Keyed, deterministic replacements: the same value, the same pseudonym."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        # What replaces a string under each personal key of a JSON payload.
        self._rules: dict[str, Callable[[str], Any]] = {}
        for keys, rule in (
            (_FIRST_KEYS, self.first_name),
            (_LAST_KEYS, self.last_name),
            (_EMAIL_KEYS, self.email),
            (_PHONE_KEYS, self.phone),
            (_STREET_KEYS, self.street),
            (_IP_KEYS, self.ip),
            (_BIRTH_KEYS, self._birth_text),
        ):
            self._rules.update(dict.fromkeys(keys, rule))

    def _number(self, kind: str, value: str) -> int:
        digest = hmac.new(self._key, f"{kind}\x1f{value}".encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def first_name(self, value: str) -> str:
        pool = _names()[0]
        return pool[self._number("first", value.strip().lower()) % len(pool)]

    def last_name(self, value: str) -> str:
        pool = _names()[1]
        return pool[self._number("last", value.strip().lower()) % len(pool)]

    def full_name(self, value: str) -> str:
        first, _, rest = value.strip().partition(" ")
        return (
            f"{self.first_name(first)} {self.last_name(rest)}" if rest else self.first_name(first)
        )

    def email(self, value: str) -> str:
        normalized = normalize_email(value).value
        if normalized is None:  # not an email: still nothing of the original
            return f"u{self._number('email', value) % 16**10:010x}@invalid.example"
        key = email_match_key(normalized)
        domain = key.rpartition("@")[2]
        return f"u{self._number('email', key) % 16**10:010x}@{domain}"

    def phone(self, value: str) -> str:
        """Keep the country and first digits, and the separators; replace the others."""
        digits = [c for c in value if c.isdigit()]
        keep = 4 if value.lstrip().startswith("+") else 2
        if len(digits) <= keep:
            return value
        number = self._number("phone", "".join(digits))
        fresh = iter(f"{number:020d}"[-(len(digits) - keep) :])
        seen = 0
        out = []
        for char in value:
            if char.isdigit():
                seen += 1
                out.append(char if seen <= keep else next(fresh))
            elif char in _PHONE_PUNCTUATION:  # letters go: "Dupont 0381" is not a phone
                out.append(char)
        return "".join(out).strip()

    def street(self, value: str) -> str:
        number = self._number("street", value.strip().lower())
        word = _STREET_WORDS[number % len(_STREET_WORDS)]
        return f"{number % 150 + 1} {word} {self.last_name(value)}"

    def birth_date(self, value: date) -> date:
        shift = self._number("birth", value.isoformat()) % (2 * MAX_SHIFT_DAYS) - MAX_SHIFT_DAYS
        return value + timedelta(days=shift or 1)

    def ip(self, value: str) -> str:
        return f"192.0.2.{self._number('ip', value) % 254 + 1}"  # TEST-NET-1 (RFC 5737)

    def walk(self, value: Any) -> Any:
        """Return a JSON value with every personal field, at any depth, replaced."""
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        personish = any(str(k).lower() in _FIRST_KEYS | _LAST_KEYS for k in value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = self._field(str(key).lower(), item, personish=personish)
        _shift_birth_parts(self, out)
        return out

    def _field(self, key: str, item: Any, *, personish: bool) -> Any:
        if key in _DROPPED_KEYS:
            return None
        if isinstance(item, list) and key in self._rules:  # [left, right] of a comparison
            return [self._field(key, value, personish=personish) for value in item]
        if isinstance(item, (Mapping, list)):
            return self.walk(item)
        if not isinstance(item, str) or not item:
            return item
        rule = self._rules.get(key)
        if rule is None and key == "name" and personish:  # beside first and last names
            rule = self.full_name
        return item if rule is None else rule(item)

    def _birth_text(self, value: str) -> str | None:
        try:
            return self.birth_date(date.fromisoformat(value[:10])).isoformat()
        except ValueError:
            return None


def _shift_birth_parts(pseudonyms: Pseudonyms, row: dict[str, Any]) -> None:
    """Shift a Y2 birth date given as BirthDateDay, BirthDateMonth, BirthDateYear."""
    parts = ("BirthDateDay", "BirthDateMonth", "BirthDateYear")
    if not all(row.get(p) for p in parts):
        return
    try:
        born = date(int(row["BirthDateYear"]), int(row["BirthDateMonth"]), int(row["BirthDateDay"]))
    except (TypeError, ValueError):
        for part in parts:
            row[part] = ""
        return
    shifted = pseudonyms.birth_date(born)
    row.update(
        BirthDateDay=str(shifted.day),
        BirthDateMonth=str(shifted.month),
        BirthDateYear=str(shifted.year),
    )


RowTransform = Callable[[dict[str, Any]], dict[str, Any]]

# Columns of personal data, wherever they appear, and what replaces them.
_COLUMN_RULES: dict[str, Callable[[Pseudonyms, Any], Any]] = {
    "email": lambda p, v: p.email(v),
    "email_match_key": lambda p, v: p.email(v),
    "first_name": lambda p, v: p.first_name(v),
    "last_name": lambda p, v: p.last_name(v),
    "phone": lambda p, v: p.phone(v),
    "address_line1": lambda p, v: p.street(v),
    "address_line2": lambda p, v: p.street(v),
    "birth_date": lambda p, v: p.birth_date(v),
}
# Tables whose personal columns are someone's: stores keep their business contacts.
_PEOPLE_TABLES = frozenset({"golden_customer", "identity_link", "sales_associate"})
_JSON_WALKED = {
    "source_record": ("payload",),
    "consent_event": ("proof",),
    "raw_consent": ("proof",),
    "event_outbox": ("data",),
    "merge_event": ("evidence",),
    "match_review": ("comparison",),
    "interaction": ("payload",),
    "subject_request": ("result",),
}
_DROPPED: dict[str, dict[str, Any]] = {
    "reject": {"raw_payload": "[not copied]"},
    "interaction": {"text": None},
    "subject_request": {"details": None, "extension_reason": None, "rejection_reason": None},
    "subject_request_step": {"note": None},
    "distinct_decision": {"reason": None},
    "merge_event": {"reason": None, "unmerge_reason": None},
    "match_review": {"decision_reason": None},
    "privacy_export": {"path": "[not copied]"},
    "validation_issue": {"value": None},
}


def _transform(table: Table, pseudonyms: Pseudonyms) -> RowTransform:
    name = table.name
    columns = [c for c in _COLUMN_RULES if c in table.c] if name in _PEOPLE_TABLES else []
    walked = _JSON_WALKED.get(name, ())
    dropped = _DROPPED.get(name, {})

    def transform(row: dict[str, Any]) -> dict[str, Any]:
        for column in columns:
            if row[column] is not None and row[column] != "":
                row[column] = _COLUMN_RULES[column](pseudonyms, row[column])
        for column in walked:
            row[column] = pseudonyms.walk(row[column])
        row.update(dropped)
        if name in {"reject", "validation_issue"}:
            row["message"] = f"{row.get('reason_code') or row.get('code')} (value not copied)"
        if name == "merge_event":
            row["field_changes"] = {
                field: [_field_value(pseudonyms, field, v) for v in change]
                if isinstance(change, list)
                else None
                for field, change in (row["field_changes"] or {}).items()
            }
        if name == "manual_rectification":
            row["value"] = _field_value(pseudonyms, str(row["field"]), row["value"])
        if name == "identity_link":
            _rekey(row)
        return row

    return transform


def _field_value(pseudonyms: Pseudonyms, field: str, value: Any) -> Any:
    if value is None or field not in _COLUMN_RULES:
        return value
    if field == "birth_date":
        return pseudonyms.birth_date(date.fromisoformat(str(value)[:10])).isoformat()
    return _COLUMN_RULES[field](pseudonyms, value)


def _rekey(row: dict[str, Any]) -> None:
    """Recompute a link's match keys from its pseudonyms: matching works in the copy."""
    keys = name_keys(
        row["first_name"], row["last_name"], row["email_match_key"], row["country"], row["phone"]
    )
    row["first_name_key"], row["last_name_key"], row["name_key"] = keys.first, keys.last, keys.full
    row["distinct_local_part"] = distinct_local_part(
        row["email_match_key"], keys, row["first_name"], row["last_name"]
    )


def _reindex(table: str, row: dict[str, Any]) -> None:
    """Recompute a row's blind indexes from its pseudonyms, under the copy's own index key.

    The repository's indexes are HMACs of the real values: kept, they would
    tell which pseudonym is which person in the repository.
    """
    if table == "golden_customer":
        row.update(contact_indexes(row))
    elif table == "identity_link":
        row.update(link_indexes(row["email_match_key"], row["phone"], row["birth_date"]))
    elif table == "source_record":
        is_order = row["source_system"] in ORDER_CONTACT_SYSTEMS and row["entity"] == "order"
        row["contact_index"] = order_contact_index(row["payload"]) if is_order else None


def copy_keys(directory: Path) -> FieldCrypto:
    """Return the test environment's keys from its key files in a directory (made on first use).

    The environment then reads the copy with ``AMIGO_ENCRYPTION_KEY_FILE`` and
    ``AMIGO_ENCRYPTION_INDEX_KEY_FILE`` pointing at them.
    """
    return crypto_from_settings(
        EncryptionSettings(
            key_file=directory / "amigo-encryption.key",
            index_key_file=directory / "amigo-index.key",
        )
    )


def copy_anonymized(
    *,
    source: Engine,
    target: Engine,
    target_crypto: FieldCrypto,
    on_table: Callable[[str, int], None] | None = None,
    on_rows: Callable[[int], None] | None = None,
    batch_size: int = 2000,
) -> dict[str, int]:
    """Write an anonymized copy of every table into an empty target; return rows per table.

    The copy is encrypted under ``target_crypto``, the test environment's own
    keys: it never needs the repository's.
    """
    if source.url.render_as_string(False) == target.url.render_as_string(False):
        raise InvalidInputError("the copy must go to another database than the repository")
    upgrade(target)
    # The repository's key checks are not copied: the copy records its own keys'.
    tables = [t for t in Base.metadata.sorted_tables if t is not key_checks]
    with target.connect() as connection:
        filled = [t.name for t in tables if connection.scalar(select(func.count()).select_from(t))]
    if filled:
        raise InvalidInputError(
            f"the target database is not empty ({', '.join(filled[:3])}...): "
            "give a new or empty one"
        )
    pseudonyms = Pseudonyms(secrets.token_bytes(32))  # forgotten when the copy is done
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        for table in tables:
            total = int(reading.scalar(select(func.count()).select_from(table)) or 0)
            if on_table is not None:
                on_table(table.name, total)
            transform = _transform(table, pseudonyms)
            merged_into: list[dict[str, Any]] = []
            query = select(table).order_by(*table.primary_key.columns)
            rows = reading.execution_options(yield_per=batch_size).execute(query)
            for part in rows.partitions(batch_size):  # decrypted as read, under ours
                values = [transform(dict(row._mapping)) for row in part]
                if table.name == "golden_customer":
                    # A profile may be merged into one with a higher id: link them afterwards.
                    merged_into += [
                        {"b_id": v["id"], "b_into": v.pop("merged_into_id")} for v in values
                    ]
                    for v in values:
                        v["merged_into_id"] = None
                with using_crypto(target_crypto):
                    for value in values:
                        _reindex(table.name, value)
                    writing.execute(insert(table), values)
                if on_rows is not None:
                    on_rows(len(values))
            if merged_into:
                pending = [m for m in merged_into if m["b_into"] is not None]
                if pending:
                    writing.execute(
                        update(table)
                        .where(table.c.id == bindparam("b_id"))
                        .values(merged_into_id=bindparam("b_into")),
                        pending,
                    )
            copied[table.name] = total
        # Whatever keys first connected to the target, its values are under the copy's.
        writing.execute(delete(key_checks))
        record_checks(writing, target_crypto.check_values())
        if writing.dialect.name == "postgresql":
            _reset_sequences(writing, tables)
    return copied


def _reset_sequences(connection: Any, tables: list[Table]) -> None:
    """Move each id sequence past the copied ids, so the test environment can add rows."""
    for table in tables:
        if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
            )
            if sequence:
                newest = f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}"  # noqa: S608
                connection.execute(
                    text("SELECT setval(:sequence, (" + newest + "), false)"),
                    {"sequence": sequence},
                )


__all__ = ["Pseudonyms", "copy_anonymized", "copy_keys"]

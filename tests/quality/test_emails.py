"""Email normalization and the matching key."""

from __future__ import annotations

import string

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from amigo.quality import Normalized, email_match_key, normalize_email
from amigo.quality.emails import _plain_ascii_email

PROPERTY = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jean.Dupont@Gmail.com", "Jean.Dupont@gmail.com"),  # local part case kept
        ("  JEAN@GMAIL.COM \t", "JEAN@gmail.com"),
        ("\u200bjean@example.fr\ufeff", "jean@example.fr"),  # invisible junk trimmed
        ("\u00a0jean@example.fr\u00a0", "jean@example.fr"),
        ("user@exämple.fr", "user@exämple.fr"),  # IDN kept in Unicode
        ("user@EXÄMPLE.fr", "user@exämple.fr"),
        ("a@xn--exmple-cua.fr", "a@exämple.fr"),  # punycode shown in Unicode
        ("josé@exemple.fr", "josé@exemple.fr"),  # SMTPUTF8 local part
        ("user@ＥＸＡＭＰＬＥ.com", "user@example.com"),  # full-width domain folded
        ("jean+promo@gmail.com", "jean+promo@gmail.com"),  # stored as given
    ],
)
def test_valid_emails(raw: str, expected: str) -> None:
    assert normalize_email(raw) == Normalized(expected, None)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n", "\u200b"])
def test_empty_emails(raw: str | None) -> None:
    assert normalize_email(raw) == Normalized(None, None)


@pytest.mark.parametrize(
    "raw",
    [
        "jean.dupont",
        "jean@",
        "@gmail.com",
        "a@b",
        "a..b@gmail.com",
        "jean dupont@gmail.com",
        "a@localhost",
        '"a b"@example.com',
        "a@[1.2.3.4]",
        "a\x00@b.com",
        "x@\ud800.com",
        "jean@@gmail.com",
    ],
)
def test_invalid_emails(raw: str) -> None:
    result = normalize_email(raw, field="alt_email")
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "invalid_email"
    assert result.issue.field == "alt_email"
    # The raw value is kept, with what storage refuses (NUL, lone surrogates) replaced.
    assert result.issue.value == raw.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")


def test_issue_value_is_truncated() -> None:
    raw = "x" * 1000
    result = normalize_email(raw)
    assert result.issue is not None
    assert result.issue.value == "x" * 200
    assert "x" * 60 in result.issue.message
    assert "x" * 61 not in result.issue.message


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("Jean.Dupont@gmail.com", "jeandupont@gmail.com"),
        ("jean.dupont+promo@gmail.com", "jeandupont@gmail.com"),
        ("J.E.A.N@googlemail.com", "jean@gmail.com"),
        ("jean+news@outlook.com", "jean@outlook.com"),
        ("jean+news@hotmail.fr", "jean@hotmail.fr"),
        ("jean+news@live.co.uk", "jean@live.co.uk"),
        ("jean.d+x@msn.com", "jean.d@msn.com"),  # dots only fold at Gmail
        ("jean+x@icloud.com", "jean@icloud.com"),
        ("jean+x@me.com", "jean@me.com"),
        ("jean+x@mac.com", "jean@mac.com"),
        ("jean+x@fastmail.com", "jean@fastmail.com"),
        ("jean+x@protonmail.com", "jean@protonmail.com"),
        ("jean+x@proton.me", "jean@proton.me"),
        ("jean-x@yahoo.com", "jean-x@yahoo.com"),  # Yahoo left alone
        ("jean+x@yahoo.fr", "jean+x@yahoo.fr"),
        ("Jean.Dupont+x@Example.FR", "jean.dupont+x@example.fr"),  # unknown provider
        ("user@exämple.fr", "user@xn--exmple-cua.fr"),  # ASCII domain for matching
        ("José@Exemple.fr", "josé@exemple.fr"),
        ("+tag@gmail.com", "+tag@gmail.com"),  # nothing before the plus: keep
    ],
)
def test_email_match_key(email: str, key: str) -> None:
    assert email_match_key(email) == key


def test_match_key_never_rewrites_the_stored_address() -> None:
    stored = normalize_email("Jean.Dupont+promo@GoogleMail.com").value
    assert stored == "Jean.Dupont+promo@googlemail.com"
    assert stored is not None
    assert email_match_key(stored) == "jeandupont@gmail.com"


@pytest.mark.parametrize("garbage", ["", "no-at-sign", "a@b@c", "@", "a@\ud800"])
def test_email_match_key_tolerates_garbage(garbage: str) -> None:
    assert isinstance(email_match_key(garbage), str)


@PROPERTY
@given(email=st.emails(), upper=st.booleans(), pad=st.sampled_from(["", " ", "\t", "\u00a0"]))
def test_generated_emails_are_valid_and_idempotent(email: str, upper: bool, pad: str) -> None:
    raw = pad + (email.upper() if upper else email) + pad
    first = normalize_email(raw)
    if first.value is None:
        # st.emails() follows RFC 5322; email-validator refuses some legal-but-unusable
        # forms (a TLD only, all-numeric TLDs). The issue must still say so.
        assert first.issue is not None
        assert first.issue.code == "invalid_email"
        return
    assert normalize_email(first.value) == first
    key = email_match_key(first.value)
    assert key == key.lower()
    assert key.isascii() or "@" in key
    assert email_match_key(key) == key


_ATOM = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-.", min_size=1, max_size=70
)
_LABEL = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=70)
_TLD = st.sampled_from(["fr", "COM", "co.uk", "test", "local", "onion", "x", "museum", "c0m"])


@settings(max_examples=400, deadline=None)
@given(local=_ATOM, labels=st.lists(_LABEL, min_size=1, max_size=3), tld=_TLD)
def test_the_plain_address_fast_path_agrees_with_email_validator(
    local: str, labels: list[str], tld: str
) -> None:
    address = f"{local}@{'.'.join(labels)}.{tld}"
    fast = _plain_ascii_email(address)
    try:
        slow: str | None = validate_email(
            address, check_deliverability=False, allow_smtputf8=True
        ).normalized
    except EmailNotValidError:
        slow = None
    if fast is not None:
        assert fast == slow

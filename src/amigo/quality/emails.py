"""Email addresses: syntax-checked storage form, and a provider-aware key for matching."""

from __future__ import annotations

import re
from functools import lru_cache

import idna
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from amigo.quality.issues import EMPTY, Normalized, make_issue, through_cache

# Copy-pasted addresses arrive wrapped in invisible characters that str.strip keeps.
_INVISIBLE = "\u200b\u2060\ufeff"

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
# Providers that deliver "name+tag@" to "name@". Yahoo uses "-" and only for
# declared aliases, so it is deliberately absent.
_PLUS_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com",
        "icloud.com", "me.com", "mac.com",
        "fastmail.com", "fastmail.fm",
        "protonmail.com", "protonmail.ch", "proton.me", "pm.me",
    }
)  # fmt: skip
# Microsoft consumer mail exists under many country domains (hotmail.fr, live.co.uk).
_MICROSOFT_DOMAIN = re.compile(
    r"(?:hotmail|outlook|live|msn|windowslive)\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})"
)


def normalize_email(raw: str | None, *, field: str = "email") -> Normalized[str]:
    """Return the email trimmed and syntax-checked, domain lowercased, local part kept."""
    return through_cache(_normalize_email, _cached_normalize_email, raw, field)


def _normalize_email(raw: str, field: str) -> Normalized[str]:
    """Normalize a non-None email."""
    text = raw.strip().strip(_INVISIBLE).strip()
    if not text:
        return EMPTY
    if "@" not in text:
        # Skip email-validator's exception machinery for the common "no @ at all" garbage.
        return make_issue(field, "invalid_email", "{value} is not an email address (no @).", raw)
    fast = _plain_ascii_email(text)
    if fast is not None:
        return Normalized(fast, None)
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as error:
        return make_issue(
            field, "invalid_email", f"{{value}} is not a valid email address: {error}", raw
        )
    return Normalized(result.normalized, None)


# A plain ASCII dot-atom address on an ordinary domain: the overwhelming case.
# email-validator costs ~50 µs per call and would only lowercase its domain;
# anything less plain (quotes, Unicode, punycode, special-use names) still
# goes through it. A property test checks both agree on what this accepts.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _plain_ascii_email(text: str) -> str | None:
    """Return the normalized address if it is plainly valid, None to ask email-validator."""
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is None or len(text) > 254 or len(match["local"]) > 64:
        return None
    domain = match["domain"].lower()
    # Every special-use name is a single label, so the last label tells.
    if "--" in domain or domain.rsplit(".", 1)[-1] in _SPECIAL_USE:
        return None
    return f"{match['local']}@{domain}"


# Cached because the same address comes from each source.
_cached_normalize_email = lru_cache(maxsize=65536)(_normalize_email)


@lru_cache(maxsize=1024)
def _ascii_domain(domain: str) -> str:
    """Return the domain lowercased in its ASCII (punycode) form, or as is if impossible."""
    domain = domain.lower()
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def email_match_key(email: str) -> str:
    """Return a key equal for addresses that reach the same mailbox, for matching only."""
    local, at, domain = email.rpartition("@")
    if not at:
        return email.lower()
    local = local.lower()
    domain = _ascii_domain(domain)
    if domain in _GMAIL_DOMAINS:
        domain = "gmail.com"
        local = local.replace(".", "")
    if domain in _PLUS_DOMAINS or _MICROSOFT_DOMAIN.fullmatch(domain):
        base, plus, _tag = local.partition("+")
        if plus and base:
            local = base
    return f"{local}@{domain}"

"""Who may do what: the roles of DESIGN.md (invariant 6), shared by the CLI and the API.

A route declares the permission it needs, never a list of roles, so that what
a role may do is read in one place: ``ROLE_PERMISSIONS`` below.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Role(enum.StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    SALES_ASSOCIATE = "sales_associate"
    DPO = "dpo"  # the data protection officer: the only role that handles subject requests
    INTEGRATION = "integration"


class Permission(enum.StrEnum):
    """One thing a caller may do; a token's scopes are its role's permissions."""

    READ_PROFILES = "profiles:read"  # search customers, the Client 360
    READ_CATALOG = "catalog:read"  # stores, associates, products (no personal data)
    READ_ACTIVITY = "activity:read"  # orders and interactions of a customer
    READ_CONSENTS = "consents:read"
    WRITE_CONSENTS = "consents:write"
    EXPORT = "profiles:export"  # bulk lists of people, the quality report's samples
    HANDLE_SUBJECT_REQUESTS = "subject_requests:handle"
    FILE_SUBJECT_REQUESTS = "subject_requests:file"
    REVIEW_IDENTITY = "identity:review"  # the review queue, merge and unmerge
    READ_QUALITY = "quality:read"
    MANAGE_WEBHOOKS = "webhooks:manage"
    READ_AUDIT = "audit:read"
    READ_CONNECTORS = "connectors:read"  # sync health: times, counts, errors (no personal data)


_EVERY = frozenset(Permission)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    # The admin runs the platform but neither files nor handles subject requests: the DPO
    # does (and integrations file the ones their systems receive), as privacy/service.py rules.
    Role.ADMIN: _EVERY - {Permission.HANDLE_SUBJECT_REQUESTS, Permission.FILE_SUBJECT_REQUESTS},
    Role.MARKETER: frozenset(
        {
            Permission.READ_PROFILES,
            Permission.READ_CATALOG,
            Permission.READ_ACTIVITY,
            Permission.READ_CONSENTS,
            Permission.EXPORT,
            Permission.READ_QUALITY,
        }
    ),
    # Store staff see the Client 360 of the person in front of them; no exports, no requests.
    Role.SALES_ASSOCIATE: frozenset(
        {
            Permission.READ_PROFILES,
            Permission.READ_CATALOG,
            Permission.READ_ACTIVITY,
            Permission.READ_CONSENTS,
            Permission.WRITE_CONSENTS,
        }
    ),
    Role.DPO: frozenset(
        {
            Permission.READ_PROFILES,
            Permission.READ_ACTIVITY,
            Permission.READ_CONSENTS,
            Permission.WRITE_CONSENTS,
            Permission.HANDLE_SUBJECT_REQUESTS,
            Permission.FILE_SUBJECT_REQUESTS,
            Permission.READ_AUDIT,
        }
    ),
    # Connected systems: read and write what they sync, file requests they receive (Shopify's).
    Role.INTEGRATION: frozenset(
        {
            Permission.READ_PROFILES,
            Permission.READ_CATALOG,
            Permission.READ_ACTIVITY,
            Permission.READ_CONSENTS,
            Permission.WRITE_CONSENTS,
            Permission.FILE_SUBJECT_REQUESTS,
            Permission.MANAGE_WEBHOOKS,
            Permission.READ_CONNECTORS,
        }
    ),
}


def permissions_of(role: Role) -> frozenset[Permission]:
    """Return what a role may do."""
    return ROLE_PERMISSIONS[role]

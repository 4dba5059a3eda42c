"""Who may do what: the roles of DESIGN.md (invariant 6), shared by the CLI and the API."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    SALES_ASSOCIATE = "sales_associate"
    DPO = "dpo"  # the data protection officer: the only role that handles subject requests
    INTEGRATION = "integration"

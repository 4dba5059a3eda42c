"""The identity graph: each source customer record linked to one golden profile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.db import Base, BigIntId, UTCDateTime, str_enum
from amigo.ingest.models import SourceSystem


class IdentityLink(Base):
    """A source system's customer id attached to a golden profile.

    Linked by (system, id), not by record version: every version of a source
    customer belongs to the same person.
    """

    __tablename__ = "identity_link"
    __table_args__ = (UniqueConstraint("source_system", "source_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_system: Mapped[SourceSystem] = mapped_column(str_enum(SourceSystem))
    source_id: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)

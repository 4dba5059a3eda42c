"""API clients: who may call the API, each with one role and a hashed secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.db import Base, BigIntId, UTCDateTime, str_enum
from amigo.core.roles import Role


class ApiClient(Base):
    """An OAuth 2.0 client (client credentials grant).

    The secret is shown once at creation; only its argon2 hash is kept.
    """

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

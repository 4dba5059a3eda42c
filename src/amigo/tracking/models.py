"""What the tracking API keeps: sources with hashed write keys, raw messages, known ids.

Encrypted at rest (docs/encryption.md): a raw message is sealed whole
(``payload_sealed``, the binary form), its userId encrypted, and the ids are
looked up through keyed blind indexes (``user_index``, ``tracking_identity.value``)
computed by ``id_index``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from amigo.core.crypto import BlindIndex, EncryptedText, current_crypto
from amigo.core.db import Base, BigIntId, UTCDateTime
from amigo.core.sealed import SealedJSON

USER_ID_FIELD = "tracking.user_id"  # the blind index field of userIds
ANONYMOUS_ID_FIELD = "tracking.anonymous_id"  # and of anonymousIds


def id_index(value: str, *, field: str, index: BlindIndex | None = None) -> str:
    """Return the blind index of a userId or anonymousId, exact (case and form kept).

    The index normalizes (case-folds) what it is given; ids are compared as sent,
    so it is given their UTF-8 bytes in hex, which no normalization changes.
    """
    index = index or current_crypto().index
    return index.compute(value.encode().hex(), field=field)


class TrackingSource(Base):
    """A website or app sending events, known by the hash of its write key.

    The key itself is shown once, when the source is created; only its
    SHA-256 is kept (the key is 192 random bits, so no salt or stretching is
    needed to make the hash useless to whoever reads the table).
    """

    __tablename__ = "tracking_source"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    write_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    write_key_hint: Mapped[str] = mapped_column(String(12))  # the key's first characters
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrackingMessage(Base):
    """A message as a source sent it (invariant 1: stored before it becomes an interaction).

    ``key`` is derived from the source and the message's ``messageId``: a
    resent message has the same key and is stored once. The interaction made
    from it carries the same key as its ``source_interaction_id``. The message
    as sent is sealed (``payload``, column ``payload_sealed``); the userId,
    often an email, is encrypted and found by its blind index ``user_index``.
    """

    __tablename__ = "tracking_message"
    __table_args__ = (
        # Stitching finds a person's earlier messages by the ids they were sent under.
        Index("ix_tracking_message_source_anonymous", "source_id", "anonymous_id"),
        Index("ix_tracking_message_source_user_index", "source_id", "user_index"),
        # Erasure finds the messages whose traits name a person (an identify before she
        # was known): partial, as most messages name nobody.
        Index(
            "ix_tracking_message_email_index",
            "email_index",
            postgresql_where=text("email_index IS NOT NULL"),
            sqlite_where=text("email_index IS NOT NULL"),
        ),
        Index(
            "ix_tracking_message_phone_index",
            "phone_index",
            postgresql_where=text("phone_index IS NOT NULL"),
            sqlite_where=text("phone_index IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("tracking_source.id"))
    message_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[str | None] = mapped_column(EncryptedText("tracking_message.user_id"))
    user_index: Mapped[str | None] = mapped_column(String(22))  # id_index(user_id)
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(
        "payload_sealed", SealedJSON("tracking_message.payload")
    )
    payload_hash: Mapped[str] = mapped_column(String(64))
    # Blind indexes of the email match key and E.164 phone its traits give (fields
    # "email" and "phone", as on golden profiles).
    email_index: Mapped[str | None] = mapped_column(String(22))
    phone_index: Mapped[str | None] = mapped_column(String(22))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The message's timestamp corrected for the sender's clock skew (receivedAt - sentAt).
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # "processed" or "rejected"
    reject_code: Mapped[str | None] = mapped_column(String(40))
    reject_message: Mapped[str | None] = mapped_column(Text)


class TrackingIdentity(Base):
    """A userId or anonymousId of a source, and the golden profile it was resolved to.

    Written when a message ties the id to a person (an identify with a
    known email, an alias, a track under a known userId); later messages
    under that id land on the same profile, and earlier ones are attached.
    ``value`` is the id's blind index (``id_index``), never the id itself.
    """

    __tablename__ = "tracking_identity"

    source_id: Mapped[int] = mapped_column(ForeignKey("tracking_source.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # "user" or "anonymous"
    value: Mapped[str] = mapped_column(String(200), primary_key=True)  # id_index(the id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("golden_customer.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20))  # how it was resolved: "email", "alias"...
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

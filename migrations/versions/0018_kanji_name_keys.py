"""kanji name keys: the link snapshots of Japanese names in kanji get their reading as key

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:30:00

Japanese names written in kanji had no Latin key (no reading without a
dictionary): "直子 佐藤" in a Tokyo store never met "Naoko Sato" on the web
shop. They are now read with pykakasi's dictionary (quality/romanize.py).
The loader writes the new keys for new and changed records; this rewrites
the stored ones of every link whose name holds Han characters, where the
keys come out different: first, last and full name keys and the distinct
local part (which depends on the name). Nothing else changes; resolution
compares the new keys from its next run.

Downgrading leaves the keys as they are (the previous code reads them as any
other Latin key).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from amigo.core.crypto import EncryptedText
from amigo.identity.keys import distinct_local_part, name_keys
from amigo.quality.romanize import has_han

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000

links = sa.Table(
    "identity_link",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("country", sa.String(2)),
    sa.Column("phone", EncryptedText("identity_link.phone")),
    sa.Column("email_match_key", EncryptedText("identity_link.email_match_key")),
    sa.Column("first_name_key", sa.String(100)),
    sa.Column("last_name_key", sa.String(100)),
    sa.Column("name_key", sa.String(201)),
    sa.Column("distinct_local_part", EncryptedText("identity_link.distinct_local_part")),
)


def upgrade() -> None:
    bind = op.get_bind()
    names = bind.execute(
        sa.select(links.c.id, links.c.first_name, links.c.last_name).where(
            sa.or_(links.c.first_name.is_not(None), links.c.last_name.is_not(None))
        )
    )
    # Streamed: only the ids of Han names are kept (1.75 M names at the seed volume).
    han = [row.id for row in names if has_han(row.first_name or "") or has_han(row.last_name or "")]
    for start in range(0, len(han), _BATCH):
        ids = han[start : start + _BATCH]
        rows = bind.execute(sa.select(links).where(links.c.id.in_(ids))).all()
        changed = [values for row in rows if (values := _rekeyed(row)) is not None]
        if changed:
            bind.execute(
                links.update()
                .where(links.c.id == sa.bindparam("b_id"))
                .values(
                    first_name_key=sa.bindparam("first_name_key"),
                    last_name_key=sa.bindparam("last_name_key"),
                    name_key=sa.bindparam("name_key"),
                    distinct_local_part=sa.bindparam("distinct_local_part"),
                ),
                changed,
            )


def _rekeyed(row: Any) -> dict[str, Any] | None:
    """Return a link's new keys, or None when they are what it holds."""
    keys = name_keys(row.first_name, row.last_name, row.email_match_key, row.country, row.phone)
    values = {
        "first_name_key": keys.first,
        "last_name_key": keys.last,
        "name_key": keys.full,
        "distinct_local_part": distinct_local_part(
            row.email_match_key, keys, row.first_name, row.last_name
        ),
    }
    if all(getattr(row, name) == value for name, value in values.items()):
        return None
    return {"b_id": row.id, **values}


def downgrade() -> None:
    pass  # the keys stay: the previous code reads them as any other Latin key

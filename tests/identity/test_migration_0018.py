"""Migration 0018 gives the stored links of Japanese kanji names their reading as key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from amigo.core.migrate import upgrade
from amigo.identity.keys import name_keys
from amigo.identity.models import IdentityLink
from amigo.ingest.service import load_directory
from amigo.quality.romanize import has_han
from amigo.synth import generate

KEYS = ("first_name_key", "last_name_key", "name_key", "distinct_local_part")


def _links(engine: Engine) -> dict[int, Any]:
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(select(IdentityLink))}


def test_0018_reads_the_kanji_names_stored_without_a_key_and_nothing_else(
    database_factory: Any, open_engine: Callable[[str], Engine], tmp_path: Path
) -> None:
    engine = open_engine(database_factory.new_url(migrate=False))
    upgrade(engine, "0017")
    generate(customers=300, seed=3, out_dir=tmp_path / "export")
    load_directory(engine=engine, directory=tmp_path / "export")
    # As the loader stored them before 0018: a kanji name without a reading kept its
    # native text as its key, and its e-mail's local part was never read as its name.
    with engine.begin() as connection:
        for link in _links(engine).values():
            if link.country == "JP" and has_han(f"{link.first_name}{link.last_name}"):
                connection.execute(
                    update(IdentityLink)
                    .where(IdentityLink.id == link.id)
                    .values(
                        first_name_key=link.first_name,
                        last_name_key=link.last_name,
                        name_key=f"{link.first_name} {link.last_name}",
                        distinct_local_part=None,
                    )
                )
    before = _links(engine)
    japanese = [i for i, link in before.items() if link.name_key and not link.name_key.isascii()]
    japanese = [i for i in japanese if before[i].country == "JP"]
    assert len(japanese) >= 5

    upgrade(engine, "0018")

    after = _links(engine)
    for link_id in japanese:
        link = after[link_id]
        keys = name_keys(
            link.first_name, link.last_name, link.email_match_key, link.country, link.phone
        )
        assert (link.first_name_key, link.last_name_key, link.name_key) == (
            keys.first,
            keys.last,
            keys.full,
        )
        assert link.name_key is not None
        assert link.name_key.isascii(), link.name_key
    for link_id, link in after.items():
        if link_id not in japanese:
            assert [getattr(link, k) for k in KEYS] == [getattr(before[link_id], k) for k in KEYS]

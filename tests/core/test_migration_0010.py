"""Migration 0010 encrypts a repository that held its identifiers in clear, and loses nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from amigo.core.crypto import blind_index, current_crypto
from amigo.core.migrate import upgrade
from amigo.identity.models import IdentityLink, MergeEvent
from amigo.ingest.models import Reject, SourceRecord
from amigo.privacy.models import SubjectRequest
from amigo.profiles.models import GoldenCustomer, ManualRectification
from amigo.profiles.service import find_customers
from dumps import raw_dump

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC).isoformat(" ")
EMAIL = "ondine.marchal@example.net"
PHONE = "+33644332211"
ORDER_EMAIL = "Ondine.Marchal@Example.net"
ORDER = {"id": 77, "email": ORDER_EMAIL, "total_price": "120.00"}

# Rows as a 0009 repository held them: identifiers in clear.
ROWS = [
    (
        "INSERT INTO golden_customer (id, external_id, email, email_match_key, first_name, "
        "last_name, phone, birth_date, origin, tier, address_line1, status, lineage, "
        "created_at, updated_at) VALUES (1, 'AMI-ONDINE', :email, :email, 'Ondine', 'Marchal', "
        ":phone, '1984-02-29', 'retail', 'standard', '12 rue des Tanneurs', 'active', '{}', "
        ":now, :now)"
    ),
    (
        "INSERT INTO source_record (id, source_system, entity, source_id, payload, payload_hash, "
        "received_at, status) VALUES (1, 'shopify', 'order', '77', :order, 'h1', :now, "
        "'processed')"
    ),
    (
        "INSERT INTO identity_link (id, source_system, source_id, customer_id, rule, linked_at, "
        "record_id, email, email_match_key, phone, birth_date, address_line1, "
        "distinct_local_part, closed) VALUES (1, 'cegid', 'PAR01000001', 1, 'source_record', "
        ":now, 1, :email, :email, :phone, '1984-02-29', '12 rue des Tanneurs', "
        "'ondine.marchal', false)"
    ),
    (
        "INSERT INTO reject (id, source_system, entity, reason_code, message, raw_payload, "
        "payload_hash, created_at) VALUES (1, 'webforms', 'submission', 'unparseable', "
        "'bad row', :raw, 'h2', :now)"
    ),
    (
        "INSERT INTO merge_event (id, survivor_id, merged_id, actor, rule, evidence, "
        "field_changes, moved_link_ids, merged_at) VALUES (1, 1, 1, 't', 'same_email', '{}', "
        ":changes, '[]', :now)"
    ),
    (
        "INSERT INTO manual_rectification (id, customer_id, field, value, actor, at) "
        "VALUES (1, 1, 'phone', :rectified, 'dpo', :now)"
    ),
]


def test_0010_encrypts_every_identifier_held_in_clear(
    database_factory: Any, open_engine: Any
) -> None:
    engine: Engine = open_engine(database_factory.new_url(migrate=False))
    upgrade(engine, "0009")
    values = {
        "email": EMAIL,
        "phone": PHONE,
        "now": NOW,
        "order": json.dumps(ORDER),
        "raw": f'{{"fields": {{"email": "{EMAIL}", "phone": "06 44 33 22 11"}}',
        "changes": json.dumps({"phone": [None, PHONE]}),
        "rectified": json.dumps(PHONE),
    }
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(text(statement), values)
    assert EMAIL.encode() in raw_dump(engine)

    upgrade(engine)

    dump = raw_dump(engine)
    for secret in (EMAIL, PHONE, "06 44 33 22 11", "12 rue des Tanneurs", "1984-02-29"):
        assert secret.encode() not in dump, secret
    assert b"Ondine" in dump  # names stay in clear: the positive control
    with Session(engine) as session:
        profile = session.get_one(GoldenCustomer, 1)
        assert (profile.email, profile.phone, profile.birth_date) == (
            EMAIL,
            PHONE,
            date(1984, 2, 29),
        )
        assert profile.email_index == blind_index(EMAIL, field="email")
        assert profile.phone_index == blind_index(PHONE, field="phone")
        link = session.get_one(IdentityLink, 1)
        assert (link.distinct_local_part, link.address_line1) == (
            "ondine.marchal",
            "12 rue des Tanneurs",
        )
        assert link.birth_date_index == blind_index("1984-02-29", field="birth_date")
        assert [c.id for c in find_customers(session=session, reference=PHONE)] == [1]
        record = session.get_one(SourceRecord, 1)
        assert record.payload == ORDER
        assert record.contact_index == blind_index(ORDER_EMAIL, field="order_email")
        assert EMAIL in session.get_one(Reject, 1).raw_payload
        assert session.get_one(MergeEvent, 1).field_changes == {"phone": [None, PHONE]}
        assert session.get_one(ManualRectification, 1).value == PHONE
        assert session.scalars(select(SubjectRequest)).all() == []
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT email FROM golden_customer")).scalar_one()
    assert raw.startswith(f"v1.{current_crypto().cipher.current_key_id}.")

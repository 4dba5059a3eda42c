"""A customer webhook is resolved against the repository as a loaded record is, once a model exists."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from amigo.api.app import create_app
from amigo.core.db import make_engine, unit_of_work
from amigo.identity.models import MergeEvent
from amigo.identity.service import resolve_repository
from amigo.ingest.service import load_directory
from connectors.conftest import ShopifyApp, customer_body, new_id, shopify_settings
from identity.conftest import SETTINGS, export_dir, profile_of
from live import served

__all__ = ["export_dir"]  # the identity suite's export, with its hand-made look-alikes


def test_a_webhook_customer_joins_their_persons_profile(
    export_dir: Path, fresh_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fresh_database_url)
    load_directory(engine=engine, directory=export_dir, batch_size=500)
    with unit_of_work(engine) as session:
        resolve_repository(session=session, settings=SETTINGS)  # trains the model
    settings = shopify_settings(tmp_path).model_copy(update={"identity": SETTINGS})
    customer_id = new_id()
    webhook_id = str(uuid.uuid4())
    body = customer_body(
        customer_id,
        email="quentin.bellamy@free.fr",
        first_name="Quentin",
        last_name="Bellamy",
        phone="+33 6 12 34 56 01",
    )
    try:
        with served(create_app(engine=engine, settings=settings)) as url:
            app = ShopifyApp(url, engine, settings, fresh_database_url)
            assert app.send("customers/create", body, webhook_id=webhook_id).status_code == 200
            app.process()
        person = profile_of(engine, "wf-x-person-1")
        assert profile_of(engine, str(customer_id)) == person
        assert profile_of(engine, "wf-x-namesake") != person
        outcome = str(app.delivery(webhook_id).outcome)
        assert outcome.endswith("; identity: 1 merged, 0 queued for review"), outcome
        with unit_of_work(engine) as session:
            merge = session.scalars(select(MergeEvent).order_by(MergeEvent.id.desc())).first()
            assert merge is not None
            assert merge.actor == "incremental resolution (shopify webhook)"
        assert app.events("customer.merged")
    finally:
        engine.dispose()

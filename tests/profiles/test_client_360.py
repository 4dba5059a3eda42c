"""Finding a customer and reading their Client 360, on a loaded repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from amigo.core.db import make_engine
from amigo.core.errors import InvalidInputError, NotFoundError
from amigo.identity.models import IdentityLink
from amigo.ingest.service import load_directory
from amigo.profiles.models import GoldenCustomer, Order
from amigo.profiles.service import client_360, find_customers
from amigo.quality.report import list_rejects, quality_report
from amigo.synth import generate
from conftest import DatabaseFactory


@pytest.fixture(scope="module")
def loaded(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """Return an engine on a repository loaded from a small generated export."""
    export = tmp_path_factory.mktemp("export360") / "data"
    generate(customers=250, seed=11, out_dir=export)
    engine = make_engine(database_factory.new_url())
    load_directory(engine=engine, directory=export)
    yield engine
    engine.dispose()


@pytest.fixture
def db(loaded: Engine) -> Iterator[Session]:
    """Open a read session on the loaded repository."""
    with Session(loaded) as session:
        yield session


def _customer_with_orders(session: Session) -> GoldenCustomer:
    customer_id = session.scalar(
        select(Order.customer_id).where(Order.customer_id.isnot(None)).limit(1)
    )
    customer = session.get(GoldenCustomer, customer_id)
    assert customer is not None
    return customer


def test_a_customer_is_found_by_every_kind_of_reference(db: Session) -> None:
    customer = _customer_with_orders(db)
    link = db.scalars(select(IdentityLink).where(IdentityLink.customer_id == customer.id)).first()
    assert link is not None
    references = [str(customer.id), customer.external_id, f"{link.source_system}:{link.source_id}"]
    if customer.email:
        references.append(customer.email.upper())
    if customer.phone:
        references.append(customer.phone)

    for reference in references:
        found = find_customers(session=db, reference=reference)
        assert customer.id in [c.id for c in found], reference


def test_the_client_360_gathers_sources_orders_consents_and_links(db: Session) -> None:
    customer = _customer_with_orders(db)

    view = client_360(session=db, customer_id=customer.id, recent_orders=3)

    assert view.profile.external_id == customer.external_id
    assert view.sources
    assert all(s.status == "processed" for s in view.sources)
    assert 1 <= len(view.orders) <= 3
    assert view.order_count >= len(view.orders)
    assert all(o.ordered_at.tzinfo is not None for o in view.orders)
    assert sum(view.lifetime_value_cents.values()) != 0 or view.order_count == 0
    for field, origin in view.profile.lineage.items():
        assert origin["source"] in {"cegid", "shopify", "webforms"}, field


def test_unknown_and_malformed_references_are_clear_errors(db: Session) -> None:
    assert find_customers(session=db, reference="nobody.at.all@example.org") == []
    with pytest.raises(InvalidInputError, match="neither an id"):
        find_customers(session=db, reference="not a reference")
    with pytest.raises(InvalidInputError):
        find_customers(session=db, reference="   ")
    with pytest.raises(NotFoundError):
        client_360(session=db, customer_id=10**9)


def test_the_quality_report_measures_fields_and_rejects(db: Session) -> None:
    report = quality_report(session=db)

    by_field = {f.field: f for f in report.fields}
    assert report.profiles > 200
    assert 0.5 < by_field["email"].completeness <= 1.0
    assert by_field["phone"].invalid_values > 0, "the generator plants invalid phones"
    assert by_field["email"].top_issue in {None, "invalid_email"}
    assert {r.reason_code for r in report.rejects} >= {"unknown_customer"}
    rejects = list_rejects(session=db, reason_code="unknown_customer", limit=5)
    assert rejects
    assert all(r.reason_code == "unknown_customer" and r.raw_payload for r in rejects)

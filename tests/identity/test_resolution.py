"""Batch resolution on SQLite and PostgreSQL: merged right, kept apart right, audited, idempotent."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, aliased

from amigo.consent.models import ConsentState
from amigo.consent.service import rebuild_projection
from amigo.core.clock import utcnow
from amigo.core.errors import InvalidInputError
from amigo.events.models import OutboxEvent
from amigo.identity.evaluation import evaluate, read_truth
from amigo.identity.models import (
    IdentityLink,
    IdentityReference,
    MatchModel,
    MergeEvent,
    ResolutionRun,
)
from amigo.identity.service import resolve_repository
from amigo.ingest.models import RawConsent
from amigo.profiles.models import (
    CustomerStatus,
    CustomerStore,
    GoldenCustomer,
    Interaction,
    Order,
)
from identity.conftest import SETTINGS, Resolved, profile_of


def test_resolution_finds_the_people_and_merges_nobody_wrongly(resolved: Resolved) -> None:
    truth = read_truth(resolved.export / "truth.csv")
    with resolved.engine.connect() as connection:
        result = evaluate(connection, truth)

    assert result.pairwise_precision >= 0.995
    assert result.pairwise_recall >= 0.85
    assert result.largest_profile <= 8
    assert resolved.summary.outcome.merges > 50
    assert resolved.summary.trained


def test_duplicates_merge_and_the_namesake_and_household_stay_apart(resolved: Resolved) -> None:
    engine = resolved.engine
    person = {profile_of(engine, f"wf-x-person-{n}") for n in (1, 2, 3)}

    assert len(person) == 1
    assert profile_of(engine, "wf-x-namesake") not in person
    assert profile_of(engine, "wf-x-mother") != profile_of(engine, "wf-x-son")
    # The chain record shares the person's phone and the namesake's e-mail: it
    # may join one of them, never both into one.
    assert profile_of(engine, "wf-x-namesake") != profile_of(engine, "wf-x-person-1")


def test_a_web_account_tagged_with_a_store_card_joins_the_card(resolved: Resolved) -> None:
    with Session(resolved.engine) as session:
        target = aliased(IdentityLink)
        pairs = session.execute(
            select(IdentityLink.customer_id, target.customer_id)
            .join(IdentityReference, IdentityReference.link_id == IdentityLink.id)
            .join(
                target,
                (target.source_system == IdentityReference.system)
                & (target.source_id == IdentityReference.source_id),
            )
        ).all()

    assert len(pairs) >= 3
    assert all(tagged == card for tagged, card in pairs)


def test_merged_profiles_point_to_their_survivor_and_hold_nothing(resolved: Resolved) -> None:
    with Session(resolved.engine) as session:
        merged = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.status == CustomerStatus.MERGED)
        ).all()
        merged_ids = [m.id for m in merged]
        assert merged_ids
        for table, column in (
            (IdentityLink, IdentityLink.customer_id),
            (Order, Order.customer_id),
            (Interaction, Interaction.customer_id),
            (RawConsent, RawConsent.customer_id),
            (CustomerStore, CustomerStore.customer_id),
        ):
            held = session.scalar(
                select(func.count()).select_from(table).where(column.in_(merged_ids))
            )
            assert held == 0, table.__tablename__
        survivors = {m.merged_into_id for m in merged}
        assert all(
            session.get(GoldenCustomer, s).status == CustomerStatus.ACTIVE  # type: ignore[union-attr]
            for s in survivors
        )


def test_survivors_consents_are_what_the_ledger_decides_and_merged_ones_hold_none(
    resolved: Resolved, scratch: Session
) -> None:
    # The rebuild from the ledger must find the states the merges left.
    check = rebuild_projection(session=scratch, now=utcnow(), check_only=True)
    merged_ids = select(GoldenCustomer.id).where(GoldenCustomer.status == CustomerStatus.MERGED)
    held_by_merged = scratch.scalar(
        select(func.count())
        .select_from(ConsentState)
        .where(ConsentState.customer_id.in_(merged_ids))
    )
    changed = [
        event.data
        for event in scratch.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "consent.changed")
        )
        if event.data["cause"] == "merge"
    ]

    assert check.differences == 0
    assert held_by_merged == 0
    # Survivors that had no state for a purpose took their merged profile's, announced.
    assert any(data["previous_status"] == "never_asked" for data in changed)
    assert all(data["customer"].startswith("AMI-") for data in changed)


def test_store_ties_are_the_survivors_own(resolved: Resolved) -> None:
    with Session(resolved.engine) as session:
        survivors = set(
            session.scalars(
                select(GoldenCustomer.merged_into_id).where(
                    GoldenCustomer.status == CustomerStatus.MERGED
                )
            )
        )
        visited = session.execute(
            select(CustomerStore.customer_id, CustomerStore.store_id).where(
                CustomerStore.relation == "visited"
            )
        ).all()
        bought = session.execute(
            select(Order.customer_id, Order.store_id).where(Order.store_id.is_not(None)).distinct()
        ).all()
        rows = session.execute(
            select(CustomerStore.customer_id, CustomerStore.store_id).where(
                CustomerStore.relation == "preferred"
            )
        ).all()
        preferred = {int(row[0]): row[1] for row in rows}
        profiles = session.scalars(
            select(GoldenCustomer).where(GoldenCustomer.id.in_(survivors))
        ).all()

    assert {v for v in visited if v[0] in survivors} == {b for b in bought if b[0] in survivors}
    for profile in profiles:
        assert preferred.get(profile.id) == profile.preferred_store_id


def test_orders_and_interactions_follow_the_link_of_the_customer_they_name(
    resolved: Resolved,
) -> None:
    with Session(resolved.engine) as session:
        for model in (Order, Interaction):
            wrong = session.scalar(
                select(func.count())
                .select_from(model)
                .join(IdentityLink, IdentityLink.id == model.customer_link_id)
                .where(model.customer_id != IdentityLink.customer_id)
            )
            assert wrong == 0


def test_every_merge_is_audited_and_announced(resolved: Resolved) -> None:
    with Session(resolved.engine) as session:
        events = session.scalars(select(MergeEvent)).all()
        assert len(events) == resolved.summary.outcome.merges
        for event in events:
            assert event.actor == "amigo identity resolve"
            assert event.rule in {
                "same e-mail",
                "same phone and last name",
                "cross reference",
                "model",
            }
            assert event.probability is not None
            assert event.model_version == resolved.summary.model_version
            assert event.moved_link_ids
            assert set(event.evidence) >= {"left_link_id", "right_link_id", "levels"}
            for before, after in event.field_changes.values():
                assert before != after
        announced = Counter(session.scalars(select(OutboxEvent.type)))
        assert announced["customer.merged"] == len(events)


def test_the_model_is_saved_versioned_and_reused(resolved: Resolved, scratch: Session) -> None:
    [model] = scratch.scalars(select(MatchModel)).all()
    assert model.version == resolved.summary.model_version == 1
    assert model.active
    assert model.records > 300

    again = resolve_repository(session=scratch, settings=SETTINGS)
    retrained = resolve_repository(session=scratch, settings=SETTINGS, retrain=True)

    assert not again.trained
    assert again.model_version == 1
    assert retrained.trained
    assert retrained.model_version == 2
    versions = scratch.scalars(select(MatchModel.version).where(MatchModel.active)).all()
    assert versions == [2]


def _graph(session: Session) -> dict[int, int]:
    rows = session.execute(select(IdentityLink.id, IdentityLink.customer_id))
    return {int(link): int(customer) for link, customer in rows}


def test_a_second_resolution_changes_nothing(resolved: Resolved, scratch: Session) -> None:
    before = _graph(scratch)

    second = resolve_repository(session=scratch, settings=SETTINGS)

    assert second.outcome.merges == 0
    assert second.outcome.queued == 0
    assert _graph(scratch) == before
    assert scratch.scalar(select(func.count()).select_from(ResolutionRun)) == 2


def test_a_resolution_runs_in_a_transaction_that_already_used_temporary_tables(
    resolved: Resolved,
) -> None:
    # On SQLite the batch asks for temporary storage in a file, which cannot
    # change once the transaction has used it: it then goes on in memory.
    connection = resolved.engine.connect()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA temp_store=MEMORY")  # as every new connection has it
        connection.commit()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        session.execute(text("CREATE TEMPORARY TABLE amigo_test_scratch (id INTEGER)"))
        session.execute(text("INSERT INTO amigo_test_scratch (id) VALUES (1)"))
        before = _graph(session)

        second = resolve_repository(session=session, settings=SETTINGS)

        assert second.outcome.merges == 0
        assert _graph(session) == before
    finally:
        session.close()
        outer.rollback()
        connection.close()


def test_resolving_an_empty_repository_is_a_clear_error(session: Session) -> None:
    with pytest.raises(InvalidInputError, match="fewer than two source customer records"):
        resolve_repository(session=session, settings=SETTINGS)

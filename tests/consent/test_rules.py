"""The rule that turns statements into a state: latest explicit action, else most restrictive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amigo.consent.models import ConsentStatus, TimeBasis
from amigo.consent.rules import Statement, decide, source_status, time_basis

LOADED = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)  # when the initial load ran
G, C, P, W, N = (
    ConsentStatus.GRANTED,
    ConsentStatus.CONFIRMED,
    ConsentStatus.PENDING,
    ConsentStatus.WITHDRAWN,
    ConsentStatus.NEVER_ASKED,
)


def _at(day: int) -> datetime:
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=day)


def _s(
    ledger_id: int,
    status: ConsentStatus,
    day: int | None,
    basis: TimeBasis = TimeBasis.EXACT,
    subject: tuple[str, str] | None = None,
    recorded: datetime = LOADED,
) -> Statement:
    return Statement(
        ledger_id,
        status,
        None if day is None else _at(day),
        TimeBasis.UNKNOWN if day is None else basis,
        recorded,
        subject,
    )


@pytest.mark.parametrize(
    ("system", "raw", "level", "expected"),
    [
        ("cegid", "BrandOnly", None, G),
        ("cegid", "FORPARTNERS", None, G),
        ("cegid", "donotuse", None, W),
        ("cegid", "AskCustomer", None, N),
        ("shopify", "subscribed", "single_opt_in", G),
        ("shopify", "SUBSCRIBED", "CONFIRMED_OPT_IN", C),
        ("shopify", "pending", "confirmed_opt_in", P),
        ("shopify", "unsubscribed", None, W),
        ("shopify", "not_subscribed", None, N),
        ("shopify", "redacted", None, W),
        ("shopify", "accepts_marketing:true", None, G),
        ("webforms", "true", "single_opt_in", G),
        ("webforms", "false", None, N),
        ("cegid", "Maybe", None, None),
        ("shopify", "subscribed?", None, None),
        ("webforms", None, None, None),
    ],
)
def test_each_source_value_means_one_state(
    system: str, raw: str | None, level: str | None, expected: ConsentStatus | None
) -> None:
    assert source_status(system, raw, level) is expected


def test_a_pos_export_time_is_only_an_upper_bound() -> None:
    assert time_basis("cegid", _at(0)) is TimeBasis.AS_OF
    assert time_basis("shopify", _at(0)) is TimeBasis.EXACT
    assert time_basis("webforms", None) is TimeBasis.UNKNOWN


def test_the_latest_explicit_action_wins() -> None:
    history = [_s(1, G, 10), _s(2, W, 20), _s(3, C, 30)]

    assert decide(history).status is C
    assert decide(history[:2]).status is W
    assert decide(history).decided_by == (3,)


def test_actions_at_the_same_instant_settle_on_the_most_restrictive() -> None:
    decision = decide([_s(1, G, 10), _s(2, W, 10), _s(3, P, 10)])

    assert decision.status is W
    assert decision.decided_by == (2,)


def test_an_initial_load_without_order_settles_on_the_most_restrictive() -> None:
    # Y2 says "as of its last modification", the other has no time at all.
    pos = _s(1, W, 200, TimeBasis.AS_OF, ("cegid", "PAR1"))
    undated = _s(2, G, None, subject=("shopify", "7"))

    assert decide([pos, undated]).status is W


def test_an_explicit_action_after_a_pos_statement_overrides_it() -> None:
    pos = _s(1, W, 100, TimeBasis.AS_OF, ("cegid", "PAR1"))
    form = _s(2, G, 150, subject=("webforms", "wf-1"))

    assert decide([pos, form]).status is G


def test_a_pos_statement_dated_after_an_action_cannot_be_ordered_against_it() -> None:
    # The store may have recorded the refusal before or after the web sign-up.
    form = _s(1, G, 150, subject=("webforms", "wf-1"))
    pos = _s(2, W, 200, TimeBasis.AS_OF, ("cegid", "PAR1"))

    assert decide([form, pos]).status is W


def test_a_statement_without_time_held_when_it_was_received() -> None:
    undated = _s(1, W, None, subject=("shopify", "7"), recorded=_at(50))
    later_click = _s(2, G, 60)
    earlier_click = _s(3, G, 40)

    assert decide([undated, later_click]).status is G
    assert decide([undated, earlier_click]).status is W


def test_never_asked_elsewhere_does_not_undo_a_consent() -> None:
    grant = _s(1, G, 10, subject=("shopify", "7"))
    unticked = _s(2, N, 90, subject=("webforms", "wf-2"))
    default = _s(3, N, 95, TimeBasis.AS_OF, ("cegid", "PAR1"))

    assert decide([grant, unticked, default]).status is G


def test_the_same_source_record_changing_its_value_supersedes_itself() -> None:
    # A newer version of the same Y2 card, even back to the default, is Y2's current say.
    first = _s(1, G, 100, TimeBasis.AS_OF, ("cegid", "PAR1"))
    reset = _s(2, N, 200, TimeBasis.AS_OF, ("cegid", "PAR1"))
    refused = _s(3, W, 300, TimeBasis.AS_OF, ("cegid", "PAR1"))

    assert decide([first, reset]).status is N
    assert decide([refused, first]).status is W
    assert decide([first, refused, _s(4, G, 400, TimeBasis.AS_OF, ("cegid", "PAR1"))]).status is G


def test_webhooks_out_of_order_keep_the_later_action() -> None:
    # The unsubscribe arrived (ledger id 1) before the older subscribe (id 2).
    unsubscribed = _s(1, W, 30, subject=("shopify", "7"))
    subscribed = _s(2, G, 20, subject=("shopify", "7"))

    assert decide([unsubscribed, subscribed]).status is W


def test_pending_and_never_asked_are_not_consent() -> None:
    assert not decide([_s(1, P, 10)]).allows_contact
    assert not decide([_s(1, N, 10)]).allows_contact
    assert not decide([]).allows_contact
    assert decide([_s(1, G, 10)]).allows_contact
    assert decide([_s(1, C, 10)]).allows_contact


_statements = st.lists(
    st.builds(
        lambda status, day, basis, subject, recorded: (status, day, basis, subject, recorded),
        st.sampled_from(list(ConsentStatus)),
        st.one_of(st.none(), st.integers(0, 40)),
        st.sampled_from([TimeBasis.EXACT, TimeBasis.AS_OF]),
        st.one_of(
            st.none(), st.sampled_from([("cegid", "1"), ("shopify", "2"), ("webforms", "3")])
        ),
        st.integers(0, 40),
    ),
    max_size=8,
).map(
    lambda items: [
        _s(i + 1, status, day, basis, subject, recorded=_at(max(recorded, day or 0)))
        for i, (status, day, basis, subject, recorded) in enumerate(items)
    ]
)


@given(_statements, st.randoms())
def test_the_order_statements_are_read_in_does_not_matter(
    statements: list[Statement], shuffler: object
) -> None:
    shuffled = list(statements)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]

    assert decide(shuffled) == decide(statements)


@given(_statements)
def test_the_state_is_one_that_was_stated(statements: list[Statement]) -> None:
    decision = decide(statements)

    by_id = {s.ledger_id: s for s in statements}
    assert all(by_id[i].status is decision.status for i in decision.decided_by)
    if not statements:
        assert decision.status is N


@given(_statements, st.sampled_from([G, C, P, W]))
def test_a_new_explicit_action_after_everything_decides_alone(
    statements: list[Statement], status: ConsentStatus
) -> None:
    action = _s(len(statements) + 1, status, 50, recorded=_at(50))

    assert decide([*statements, action]).decided_by == (action.ledger_id,)


@given(_statements)
def test_undated_statements_of_different_records_settle_on_the_most_restrictive(
    statements: list[Statement],
) -> None:
    # What two merged profiles bring, without any time to order it: never looser than any side.
    undated = [
        _s(s.ledger_id, s.status, None, subject=("src", str(s.ledger_id))) for s in statements
    ]
    stated = [s.status for s in undated if s.status is not N]

    assert decide(undated).status is (min(stated, key=[W, P, G, C].index) if stated else N)

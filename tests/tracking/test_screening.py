"""Messages about an erased person do not bring them back: stubs only, nothing recorded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from amigo.core.config import Settings
from amigo.core.db import unit_of_work
from amigo.privacy.erasure import erase_person
from amigo.privacy.models import ErasureSuppression, SuppressionKind
from amigo.privacy.suppression import add_to_list, keyed_hash, suppression_secret
from amigo.quality.emails import email_match_key
from amigo.tracking.models import TrackingIdentity
from tracking.conftest import TrackingApp


@pytest.fixture
def client(tracking_app: TrackingApp) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=tracking_app.url, auth=(tracking_app.write_key, ""), timeout=10
    ) as http:
        yield http


def _erase(tracking_app: TrackingApp, *identifiers: tuple[SuppressionKind, str]) -> None:
    """Put identifiers on the suppression list, as an erasure does."""
    with unit_of_work(tracking_app.engine) as session:
        add_to_list(
            session.connection(),
            secret=suppression_secret(Settings().privacy),
            identifiers=identifiers,
            request_id=None,
            now=datetime.now(UTC),
        )


def _id() -> str:
    return uuid.uuid4().hex


def test_messages_about_an_erased_person_are_kept_as_stubs_only(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()  # still active here: the stubs must not reach them
    phone, tag = "+33612345678", _id()[:8]
    email_user = f"Erased.{tag}@Example.org"
    _erase(
        tracking_app,
        (SuppressionKind.EMAIL, email_match_key(person.email)),
        (SuppressionKind.PHONE, phone),
        (SuppressionKind.SOURCE, f"cegid:{person.cegid_id}"),
        (SuppressionKind.EMAIL, email_match_key(email_user.lower())),
    )
    device = _id()
    about_erased: list[dict[str, Any]] = [
        {
            "type": "identify",
            "messageId": _id(),
            "anonymousId": device,
            "userId": f"web-{tag}",
            "traits": {"email": person.email.upper(), "firstName": "Agathe"},
            "context": {"ip": "198.51.100.7"},
        },
        {
            "type": "track",
            "messageId": _id(),
            "anonymousId": _id(),
            "event": "Product Viewed",
            "context": {"traits": {"phone": "06 12 34 56 78"}},
        },
        {"type": "track", "messageId": _id(), "userId": f"cegid:{person.cegid_id}", "event": "X"},
        {"type": "identify", "messageId": _id(), "userId": email_user},
        {"type": "alias", "messageId": _id(), "previousId": device, "userId": person.external_id},
    ]
    about_erased[4]["userId"] = f"CEGID:{person.cegid_id}"  # an alias naming the erased record
    other = {"type": "track", "messageId": _id(), "anonymousId": device, "event": "Home Viewed"}
    for _ in range(2):  # a resend is still stored once
        response = client.post("/v1/batch", json={"batch": [*about_erased, other]})
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}

    for sent in about_erased:
        [stub] = tracking_app.messages(sent["messageId"])
        assert (stub.status, stub.user_id, stub.anonymous_id) == ("suppressed", None, None), sent
        assert set(stub.payload) <= {"type", "messageId", "event"}
        assert tracking_app.interactions(message_id=sent["messageId"]) == []
    recorded = tracking_app.events("interaction.recorded")
    stub_keys = {m.key for s in about_erased for m in tracking_app.messages(s["messageId"])}
    assert not [e for e in recorded if e.data["interaction"].split(":", 1)[1] in stub_keys]
    # The device was tied to no one (the identify and the alias were stubs): its other
    # message is recorded, on nobody.
    [kept] = tracking_app.interactions(message_id=other["messageId"])
    assert kept.customer_id is None
    with unit_of_work(tracking_app.engine) as session:
        assert session.query(TrackingIdentity).filter_by(customer_id=person.id).count() == 0


def test_a_person_who_came_back_is_tracked_again(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()
    key = email_match_key(person.email)
    _erase(tracking_app, (SuppressionKind.EMAIL, key))
    secret = suppression_secret(Settings().privacy)
    with unit_of_work(tracking_app.engine) as session:  # a new sign-up lifted the entry
        session.execute(
            update(ErasureSuppression)
            .where(ErasureSuppression.key_hash == keyed_hash(secret, SuppressionKind.EMAIL, key))
            .values(returned_at=datetime.now(UTC), returned_via="webforms:SUB-1")
        )
    identify: dict[str, Any] = {"type": "identify", "messageId": _id(), "anonymousId": _id()}
    identify["traits"] = {"email": person.email}
    assert client.post("/v1/batch", json={"batch": [identify]}).status_code == 200
    [stored] = tracking_app.messages(identify["messageId"])
    assert stored.status == "processed"
    [interaction] = tracking_app.interactions(message_id=identify["messageId"])
    assert interaction.customer_id == person.id


def test_an_erasure_reduces_the_persons_messages_and_later_ones_to_stubs(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()
    device, user = _id(), f"web-{_id()}"
    sent: list[dict[str, Any]] = [
        {"type": "track", "messageId": _id(), "anonymousId": device, "event": "Home Viewed"},
        {
            "type": "identify",
            "messageId": _id(),
            "anonymousId": device,
            "userId": user,
            "traits": {"email": person.email, "lastName": "Martin"},
        },
        {"type": "track", "messageId": _id(), "userId": user},  # rejected: no event
    ]
    assert client.post("/v1/batch", json={"batch": sent}).status_code == 200
    assert tracking_app.interactions(message_id=sent[0]["messageId"])[0].customer_id == person.id

    with unit_of_work(tracking_app.engine) as session:
        erase_person(
            session,
            customer_id=person.id,
            reference="DSR-TRACKING",
            actor="dpo",
            now=datetime.now(UTC),
            secret=suppression_secret(Settings().privacy),
        )
        assert session.query(TrackingIdentity).filter_by(customer_id=person.id).count() == 0
    for message in sent:
        [kept] = tracking_app.messages(message["messageId"])
        assert (kept.status, kept.user_id, kept.anonymous_id) == ("erased", None, None)
        assert "traits" not in kept.payload
        assert tracking_app.interactions(message_id=message["messageId"]) == []
    # The person's device and email afterwards: nothing of them is recorded, nobody found.
    later: list[dict[str, Any]] = [
        {
            "type": "identify",
            "messageId": _id(),
            "userId": _id(),
            "traits": {"email": person.email},
        },
        {"type": "track", "messageId": _id(), "anonymousId": device, "event": "Back"},
    ]
    assert client.post("/v1/batch", json={"batch": later}).status_code == 200
    assert tracking_app.messages(later[0]["messageId"])[0].status == "suppressed"
    [back] = tracking_app.interactions(message_id=later[1]["messageId"])
    assert back.customer_id is None

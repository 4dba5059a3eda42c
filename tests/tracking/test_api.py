"""The tracking API over HTTP: auth, encodings, limits, de-duplication, clock skew, stitching."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tracking.conftest import TrackingApp


@pytest.fixture
def client(tracking_app: TrackingApp) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=tracking_app.url, auth=(tracking_app.write_key, ""), timeout=10
    ) as http:
        yield http


def _id() -> str:
    return uuid.uuid4().hex


def _track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Product Viewed", "messageId": _id(), **fields}


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["code"] == code  # where the Segment SDKs read it


def test_missing_or_bad_write_key_is_401(tracking_app: TrackingApp) -> None:
    message = _track(anonymousId=_id())
    no_key = httpx.post(f"{tracking_app.url}/v1/batch", json={"batch": [message]})
    _assert_error(no_key, 401, "invalid_write_key")
    assert no_key.headers["www-authenticate"].startswith("Basic")
    bad = httpx.post(f"{tracking_app.url}/v1/track", json=message, auth=("not-a-key", ""))
    _assert_error(bad, 401, "invalid_write_key")
    garbled = httpx.post(
        f"{tracking_app.url}/v1/track", json=message, headers={"Authorization": "Basic %%%"}
    )
    _assert_error(garbled, 401, "invalid_write_key")
    assert tracking_app.messages(message["messageId"]) == []


def test_single_call_and_gzip_batch_are_recorded(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    anonymous = _id()
    single = client.post("/v1/page", json={"anonymousId": anonymous, "name": "Home"})
    assert single.status_code == 200
    assert single.json() == {"success": True}
    body = gzip.compress(orjson.dumps({"batch": [_track(anonymousId=anonymous)]}))
    zipped = client.post(
        "/v1/batch",
        content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert zipped.status_code == 200
    assert zipped.json() == {"success": True}
    recorded = tracking_app.interactions(anonymous_id=anonymous)
    assert [(i.type, i.text, i.channel, i.customer_id) for i in recorded] == [
        ("page", "Home", "web", None),
        ("track", "Product Viewed", "tracking", None),
    ]
    events = [e for e in tracking_app.events("interaction.recorded") if e.data["name"] == "Home"]
    assert events
    assert events[0].data["customer"] is None


def test_malformed_input_is_400(client: httpx.Client) -> None:
    _assert_error(client.post("/v1/batch", content=b'{"batch": [}'), 400, "invalid_json")
    _assert_error(client.post("/v1/track", content=b"[1, 2]"), 400, "invalid_json")
    _assert_error(client.post("/v1/batch", json={"batch": "no"}), 400, "invalid_batch")
    _assert_error(
        client.post("/v1/batch", content=b"not gzip", headers={"Content-Encoding": "gzip"}),
        400,
        "invalid_encoding",
    )
    _assert_error(
        client.post("/v1/batch", content=b"{}", headers={"Content-Encoding": "br"}),
        400,
        "unsupported_encoding",
    )
    _assert_error(client.post("/v1/track", json={"event": "x"}), 400, "missing_id")
    _assert_error(client.post("/v1/track", json={"userId": "u1"}), 400, "missing_event")
    _assert_error(
        client.post("/v1/track", json={"userId": "u1", "event": "x", "timestamp": "yesterday"}),
        400,
        "invalid_timestamp",
    )


def test_oversize_message_is_400_and_oversize_batch_is_413(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    big = _track(anonymousId=_id(), properties={"blob": "x" * (33 * 1024)})
    _assert_error(client.post("/v1/track", json=big), 400, "message_too_large")
    in_batch = client.post("/v1/batch", json={"batch": [_track(anonymousId=_id()), big]})
    _assert_error(in_batch, 400, "message_too_large")
    assert in_batch.json()["error"]["details"]["index"] == 1
    many = [_track(anonymousId=_id(), properties={"blob": "y" * 20_000}) for _ in range(30)]
    _assert_error(client.post("/v1/batch", json={"batch": many}), 413, "batch_too_large")
    # The limit is on the JSON: a gzip bomb under 500 KB compressed is refused too.
    bomb = gzip.compress(orjson.dumps({"batch": many}))
    assert len(bomb) < 50_000
    _assert_error(
        client.post("/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"}),
        413,
        "batch_too_large",
    )
    assert tracking_app.messages(big["messageId"]) == []
    assert tracking_app.messages(many[0]["messageId"]) == []


def test_invalid_messages_of_a_batch_are_stored_as_rejected(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    good, no_event = _track(anonymousId=_id()), _track(anonymousId=_id(), event=None)
    nul = _track(anonymousId=_id(), properties={"text": "a\u0000b"})
    response = client.post("/v1/batch", json={"batch": [good, no_event, "junk", nul]})
    assert response.status_code == 200
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [
        (1, "missing_event"),
        (2, "invalid_message"),
        (3, "invalid_text"),
    ]
    [kept] = tracking_app.messages(no_event["messageId"])
    assert (kept.status, kept.reject_code) == ("rejected", "missing_event")
    assert tracking_app.messages(good["messageId"])[0].status == "processed"
    assert tracking_app.interactions(anonymous_id=no_event["anonymousId"]) == []


def test_a_resent_message_is_accepted_and_stored_once(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    message = _track(anonymousId=_id())
    for _ in range(3):
        response = client.post("/v1/batch", json={"batch": [message, message]})
        assert response.status_code == 200
        assert response.json() == {"success": True}
    assert client.post("/v1/track", json=message).status_code == 200
    assert len(tracking_app.messages(message["messageId"])) == 1
    assert len(tracking_app.interactions(message_id=message["messageId"])) == 1
    recorded = tracking_app.events("interaction.recorded")
    interaction = tracking_app.interactions(message_id=message["messageId"])[0]
    assert (
        len(
            [
                e
                for e in recorded
                if e.data["interaction"].endswith(interaction.source_interaction_id)
            ]
        )
        == 1
    )


def test_the_senders_clock_skew_is_corrected_from_sent_at(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    # The sender's clock is 2 hours fast: it says sent at now + 2 h, happened 10 min before.
    skewed_now = datetime.now(UTC) + timedelta(hours=2)
    message = _track(
        anonymousId=_id(),
        timestamp=(skewed_now - timedelta(minutes=10)).isoformat(),
    )
    before = datetime.now(UTC)
    response = client.post("/v1/batch", json={"batch": [message], "sentAt": skewed_now.isoformat()})
    after = datetime.now(UTC)
    assert response.status_code == 200
    [interaction] = tracking_app.interactions(message_id=message["messageId"])
    assert before - timedelta(minutes=10, seconds=1) <= interaction.occurred_at
    assert interaction.occurred_at <= after - timedelta(minutes=10) + timedelta(seconds=1)
    [raw] = tracking_app.messages(message["messageId"])
    assert raw.payload["timestamp"] == message["timestamp"]  # the raw message as sent
    # Without a timestamp, it happened when it was received.
    bare = {"type": "track", "event": "Ping", "anonymousId": _id(), "messageId": _id()}
    assert client.post("/v1/batch", json={"batch": [bare]}).status_code == 200
    [ping] = tracking_app.interactions(message_id=bare["messageId"])
    assert before <= ping.occurred_at <= datetime.now(UTC)


def test_anonymous_events_follow_the_person_an_identify_names(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()
    anonymous, user = _id(), f"web-{_id()}"
    earlier = [_track(anonymousId=anonymous, event=f"Step {n}") for n in range(3)]
    assert client.post("/v1/batch", json={"batch": earlier}).status_code == 200
    assert {i.customer_id for i in tracking_app.interactions(anonymous_id=anonymous)} == {None}

    identify = {
        "anonymousId": anonymous,
        "userId": user,
        "traits": {"email": person.email.upper(), "firstName": "Someone Else"},
    }
    assert client.post("/v1/identify", json=identify).status_code == 200
    assert {i.customer_id for i in tracking_app.interactions(anonymous_id=anonymous)} == {person.id}
    # Later events under either id land on the person too.
    later = [_track(userId=user), _track(anonymousId=anonymous)]
    assert client.post("/v1/batch", json={"batch": later}).status_code == 200
    for message in later:
        [interaction] = tracking_app.interactions(message_id=message["messageId"])
        assert interaction.customer_id == person.id
        assert interaction.customer_link_id is not None
    attached = [
        e for e in tracking_app.events("interaction.attached") if e.subject == person.external_id
    ]
    assert [e.data["interactions"] for e in attached] == [3]
    # The traits are the source record's, not the golden profile's (survivorship decides).
    from amigo.core.db import unit_of_work  # noqa: PLC0415
    from amigo.profiles.models import GoldenCustomer  # noqa: PLC0415

    with unit_of_work(tracking_app.engine) as session:
        golden = session.get(GoldenCustomer, person.id)
        assert golden is not None
        assert golden.first_name == "Agathe"


def test_alias_ties_the_previous_id_to_the_person(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()
    anonymous = _id()
    earlier = _track(anonymousId=anonymous)
    same_batch = _track(anonymousId=anonymous, event="Checkout Started")
    assert client.post("/v1/batch", json={"batch": [earlier]}).status_code == 200
    alias = {"type": "alias", "previousId": anonymous, "userId": f"cegid:{person.cegid_id}"}
    assert client.post("/v1/batch", json={"batch": [same_batch, alias]}).status_code == 200
    for message in (earlier, same_batch):
        [interaction] = tracking_app.interactions(message_id=message["messageId"])
        assert interaction.customer_id == person.id
    _assert_error(client.post("/v1/alias", json={"userId": "x"}), 400, "missing_id")


def test_a_user_id_naming_a_profile_links_directly(
    tracking_app: TrackingApp, client: httpx.Client
) -> None:
    person = tracking_app.new_person()
    by_external = _track(userId=person.external_id.lower())
    by_source = _track(userId=f"cegid:{person.cegid_id}")
    unknown = _track(userId=f"nobody-{_id()}")
    response = client.post("/v1/batch", json={"batch": [by_external, by_source, unknown]})
    assert response.status_code == 200
    owners = [
        tracking_app.interactions(message_id=m["messageId"])[0].customer_id
        for m in (by_external, by_source, unknown)
    ]
    assert owners == [person.id, person.id, None]
    # An unknown userId whose identify carries a known email resolves by it, and its past follows.
    identify = {"userId": unknown["userId"], "traits": {"email": person.email}}
    assert client.post("/v1/identify", json=identify).status_code == 200
    assert tracking_app.interactions(message_id=unknown["messageId"])[0].customer_id == person.id

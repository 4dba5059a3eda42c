"""The official Segment and RudderStack Python SDKs, unchanged, sending to AMIgo on loopback."""

from __future__ import annotations

import uuid

import pytest
from rudderstack.analytics import Client as RudderClient
from segment.analytics import Client as SegmentClient
from segment.analytics.request import APIError

from tracking.conftest import TrackingApp


def test_segment_sdk_identifies_and_tracks(tracking_app: TrackingApp) -> None:
    person = tracking_app.new_person()
    anonymous, user = uuid.uuid4().hex, f"shop-{uuid.uuid4().hex}"
    client = SegmentClient(
        tracking_app.write_key, host=tracking_app.url, sync_mode=True, gzip=True, max_retries=0
    )
    client.page(anonymous_id=anonymous, name="Home", properties={"path": "/"})
    client.track(anonymous_id=anonymous, event="Product Viewed", properties={"sku": "SKU-1"})
    client.identify(user_id=user, anonymous_id=anonymous, traits={"email": person.email})
    client.track(user_id=user, event="Order Completed", properties={"total": 120})
    client.group(user_id=user, group_id="loyalty-gold")
    client.screen(user_id=user, name="Cart")
    client.flush()
    recorded = tracking_app.interactions(anonymous_id=anonymous) + tracking_app.interactions(
        user_id=user, anonymous_id=None
    )
    assert [(i.type, i.text) for i in recorded] == [
        ("page", "Home"),
        ("track", "Product Viewed"),
        ("identify", None),
        ("track", "Order Completed"),
        ("group", "loyalty-gold"),
        ("screen", "Cart"),
    ]
    assert {i.customer_id for i in recorded} == {person.id}
    [raw] = tracking_app.messages((recorded[0].payload or {})["message_id"])
    assert raw.payload["context"]["library"]["name"] == "analytics-python"


def test_segment_sdk_sees_a_bad_write_key_as_an_api_error(tracking_app: TrackingApp) -> None:
    client = SegmentClient("wrong", host=tracking_app.url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as raised:
        client.track(user_id="u", event="Nope")
    assert raised.value.status == 401
    assert raised.value.code == "invalid_write_key"


def test_rudderstack_sdk_batches_with_gzip(tracking_app: TrackingApp) -> None:
    person = tracking_app.new_person()
    anonymous = uuid.uuid4().hex
    client = RudderClient(
        tracking_app.write_key, host=tracking_app.url, sync_mode=True, gzip=True, max_retries=0
    )
    client.track(anonymous_id=anonymous, event="Newsletter Viewed")
    client.alias(previous_id=anonymous, user_id=person.external_id)
    client.track(user_id=person.external_id, event="Store Visit Booked")
    client.flush()
    recorded = tracking_app.interactions(anonymous_id=anonymous) + tracking_app.interactions(
        user_id=person.external_id
    )
    assert sorted(i.text or "" for i in recorded) == sorted(
        [anonymous, "Newsletter Viewed", "Store Visit Booked"]
    )
    assert {i.customer_id for i in recorded} == {person.id}


def test_rudderstack_sdk_in_a_background_thread_delivers_every_message(
    tracking_app: TrackingApp,
) -> None:
    anonymous = uuid.uuid4().hex
    failures: list[Exception] = []
    client = RudderClient(
        tracking_app.write_key,
        host=tracking_app.url,
        upload_size=25,
        on_error=lambda error, _batch: failures.append(error),
    )
    for n in range(120):
        client.track(anonymous_id=anonymous, event="Scroll", properties={"n": n})
    client.flush()
    client.shutdown()
    assert failures == []
    recorded = tracking_app.interactions(anonymous_id=anonymous)
    assert sorted((i.payload or {})["properties"]["n"] for i in recorded) == list(range(120))

"""The public consent pages over HTTP: signed links honoured, forged and expired ones refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select

from amigo.api.app import RedactLinkTokens
from amigo.consent.links import ConsentLink, LinkAction, sign_link
from amigo.consent.models import ConsentEvent
from amigo.consent.preferences import page_link, request_confirmation
from amigo.consent.service import current_consents, record_consent
from amigo.core.db import unit_of_work
from amigo.core.errors import InvalidInputError
from amigo.events.models import OutboxEvent
from amigo.profiles.models import GoldenCustomer
from web.conftest import SECRET, LiveApp


@pytest.fixture
def client(live_app: LiveApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_app.url, timeout=10) as http:
        yield http


def _link(
    live_app: LiveApp, customer_id: int, action: LinkAction, purpose: str | None = None
) -> str:
    with unit_of_work(live_app.engine) as session:
        return page_link(
            session=session,
            customer_id=customer_id,
            action=action,
            settings=live_app.settings.consent,
            purpose=purpose,
            base_url="",
        )


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _states(live_app: LiveApp, customer_id: int) -> dict[str, str]:
    with unit_of_work(live_app.engine) as session:
        return {
            p: c.status
            for p, c in current_consents(session=session, customer_id=customer_id).items()
        }


def _counts(live_app: LiveApp) -> tuple[int, int]:
    with unit_of_work(live_app.engine) as session:
        return (
            int(session.scalar(select(func.count()).select_from(ConsentEvent)) or 0),
            int(session.scalar(select(func.count()).select_from(OutboxEvent)) or 0),
        )


def _grant(live_app: LiveApp, customer_id: int, purpose: str) -> None:
    with unit_of_work(live_app.engine) as session:
        record_consent(
            session=session,
            customer_id=customer_id,
            purpose=purpose,
            status="granted",
            channel="store",
            actor="associate:A12",
            now=datetime.now(UTC) - timedelta(minutes=1),
        )


def _signed_days_ago(link: ConsentLink, days: float) -> str:
    past = int((datetime.now(UTC) - timedelta(days=days)).timestamp())
    with patch.object(TimestampSigner, "get_timestamp", lambda _self: past):
        return sign_link(link, secret=SECRET)


def _external_id(live_app: LiveApp, customer_id: int) -> str:
    with unit_of_work(live_app.engine) as session:
        return session.get_one(GoldenCustomer, customer_id).external_id


# ---------------------------------------------------------------- unsubscribe


def test_an_unsubscribe_link_asks_first_then_withdraws_with_proof(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer()
    _grant(live_app, customer, "email_marketing")
    url = _link(live_app, customer, LinkAction.UNSUBSCRIBE, "email_marketing")
    before = _counts(live_app)

    shown = client.get(url)
    after_get = _counts(live_app)
    done = client.post(
        "/consent/unsubscribe",
        data={"token": _token(url), "lang": "fr"},
        headers={"User-Agent": "Thunderbird/128"},
    )
    again = client.post("/consent/unsubscribe", data={"token": _token(url), "lang": "en"})

    assert shown.status_code == 200
    assert "Ne plus recevoir : Offres et actualités par e-mail ?" in shown.text
    assert "<script" not in shown.text
    assert after_get == before  # opening the link (a mail scanner does) changes nothing
    assert done.status_code == 200
    assert "vous ne recevrez plus « Offres et actualités par e-mail »" in done.text
    assert "/consent/preferences?token=" in done.text
    assert again.status_code == 200
    assert "You were already unsubscribed" in again.text
    assert _states(live_app, customer)["email_marketing"] == "withdrawn"
    with unit_of_work(live_app.engine) as session:
        statement = session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer)
            .order_by(ConsentEvent.id.desc())
        ).first()
        event = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "consent.changed")
            .order_by(OutboxEvent.id.desc())
        ).first()
    assert statement is not None
    assert (statement.status, statement.channel, statement.actor) == (
        "withdrawn",
        "unsubscribe_link",
        "person",
    )
    assert statement.proof["ip"] == "127.0.0.1"
    assert statement.proof["user_agent"] == "Thunderbird/128"
    assert statement.proof["wording_version"].startswith("unsubscribe-")
    assert event is not None
    assert (event.data["previous_status"], event.data["status"]) == ("granted", "withdrawn")
    assert _counts(live_app)[0] == before[0] + 1  # the second click recorded nothing


def test_a_mail_client_one_click_post_unsubscribes(live_app: LiveApp, client: httpx.Client) -> None:
    # RFC 8058: the client POSTs "List-Unsubscribe=One-Click" to the List-Unsubscribe URL.
    customer = live_app.new_customer(language="en")
    _grant(live_app, customer, "sms_marketing")
    url = _link(live_app, customer, LinkAction.UNSUBSCRIBE, "sms_marketing")

    response = client.post(url, content="List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    assert response.status_code == 200
    assert "you will no longer receive “Offers by text message”" in response.text
    assert _states(live_app, customer)["sms_marketing"] == "withdrawn"


def _tampered(token: str, where: str) -> str:
    payload, stamp, signature = token.split(".")
    if where == "signature":
        signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    else:  # another customer's id in the payload, keeping the signature
        payload = payload[:-3] + ("xyz" if payload[-3:] != "xyz" else "abc")
    return ".".join((payload, stamp, signature))


@pytest.mark.parametrize("where", ["signature", "payload"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_tampered_link_gets_an_error_page_and_changes_nothing(
    live_app: LiveApp, client: httpx.Client, where: str, method: str
) -> None:
    customer = live_app.new_customer()
    _grant(live_app, customer, "email_marketing")
    token = _tampered(
        _token(_link(live_app, customer, LinkAction.UNSUBSCRIBE, "email_marketing")), where
    )
    before = _counts(live_app)

    if method == "GET":
        response = client.get("/consent/unsubscribe", params={"token": token},
                              headers={"Accept-Language": "fr-FR,fr;q=0.9"})  # fmt: skip
    else:
        response = client.post("/consent/unsubscribe", data={"token": token},
                               headers={"Accept-Language": "fr-FR,fr;q=0.9"})  # fmt: skip

    assert response.status_code == 400
    assert "Ce lien n&#39;est pas valide" in response.text
    assert "Rien n&#39;a été changé" in response.text
    assert _counts(live_app) == before
    assert _states(live_app, customer)["email_marketing"] == "granted"


@pytest.mark.parametrize(
    ("path", "token_for"),
    [
        ("/consent/unsubscribe", LinkAction.PREFERENCES),  # a link used for another page
        ("/consent/preferences", LinkAction.UNSUBSCRIBE),
        ("/consent/confirm", LinkAction.PREFERENCES),
        ("/consent/preferences", None),  # no token at all
    ],
)
def test_a_link_is_only_good_for_its_own_page(
    live_app: LiveApp, client: httpx.Client, path: str, token_for: LinkAction | None
) -> None:
    customer = live_app.new_customer()
    params: dict[str, Any] = {}
    if token_for is not None:
        purpose = "email_marketing" if token_for is LinkAction.UNSUBSCRIBE else None
        params["token"] = _token(_link(live_app, customer, token_for, purpose))
    before = _counts(live_app)

    shown = client.get(path, params=params)
    posted = client.post(path, data=params)

    assert shown.status_code == posted.status_code == 400
    assert "This link is not valid" in shown.text
    assert _counts(live_app) == before


def test_an_expired_link_gets_a_clear_page(live_app: LiveApp, client: httpx.Client) -> None:
    customer = live_app.new_customer(language="en")
    _grant(live_app, customer, "email_marketing")
    old = _signed_days_ago(
        ConsentLink(LinkAction.UNSUBSCRIBE, _external_id(live_app, customer), "email_marketing"),
        live_app.settings.consent.link_days + 1,
    )
    before = _counts(live_app)

    response = client.post("/consent/unsubscribe", data={"token": old})

    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert _counts(live_app) == before


# ---------------------------------------------------------------- preference center


def test_the_preference_center_shows_and_saves_each_purpose(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer(first_name="Louis", language="en")
    _grant(live_app, customer, "postal_mail")
    url = _link(live_app, customer, LinkAction.PREFERENCES)

    shown = client.get(url)
    saved = client.post(
        "/consent/preferences",
        data={"token": _token(url), "purpose": ["email_marketing", "data_analysis"]},
    )
    unchanged = client.post(
        "/consent/preferences",
        data={"token": _token(url), "purpose": ["email_marketing", "data_analysis"]},
    )
    french = client.get(url.replace("lang=en", "lang=fr"))

    assert shown.status_code == 200
    assert "Hello Louis," in shown.text
    assert 'value="postal_mail" checked' in shown.text
    assert 'value="email_marketing" checked' not in shown.text
    assert saved.status_code == 200
    assert "Your choices are saved." in saved.text
    assert 'value="email_marketing" checked' in saved.text
    assert 'value="postal_mail" checked' not in saved.text
    assert "Nothing changed" in unchanged.text
    assert "Mes préférences de contact" in french.text
    assert _states(live_app, customer) == {
        "email_marketing": "granted",
        "sms_marketing": "never_asked",
        "phone_calls": "never_asked",
        "postal_mail": "withdrawn",
        "data_analysis": "granted",
    }


def test_an_unknown_purpose_in_the_form_is_refused_whole(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer()
    url = _link(live_app, customer, LinkAction.PREFERENCES)
    before = _counts(live_app)

    response = client.post(
        "/consent/preferences", data={"token": _token(url), "purpose": ["email_marketing", "spam"]}
    )

    assert response.status_code == 400
    assert _counts(live_app) == before


# ---------------------------------------------------------------- double opt-in


def _confirmation_url(live_app: LiveApp, customer: int, purpose: str = "email_marketing") -> str:
    with unit_of_work(live_app.engine) as session:
        return request_confirmation(
            session=session,
            customer_id=customer,
            purpose=purpose,
            channel="email",
            settings=live_app.settings.consent,
            now=datetime.now(UTC),
        )


def test_double_opt_in_counts_only_once_confirmed_and_only_once(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer(language="fr")
    url = _confirmation_url(live_app, customer)
    token = _token(url)
    pending = _states(live_app, customer)["email_marketing"]

    shown = client.get("/consent/confirm", params={"token": token})
    still_pending = _states(live_app, customer)["email_marketing"]
    confirmed = client.post("/consent/confirm", data={"token": token})
    count = _counts(live_app)
    twice = client.post("/consent/confirm", data={"token": token})

    assert pending == still_pending == "pending"
    assert "Confirmez-vous votre inscription" in shown.text
    assert confirmed.status_code == 200
    assert "votre inscription est confirmée" in confirmed.text
    assert _states(live_app, customer)["email_marketing"] == "confirmed"
    assert twice.status_code == 200
    assert "était déjà confirmée" in twice.text
    assert _counts(live_app) == count


def test_a_confirmation_after_expiry_changes_nothing(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer(language="en")
    _confirmation_url(live_app, customer)
    stale = _signed_days_ago(
        ConsentLink(
            LinkAction.CONFIRM,
            _external_id(live_app, customer),
            "email_marketing",
            _pending_id(live_app, customer),
        ),
        (live_app.settings.consent.confirmation_hours + 1) / 24,
    )
    before = _counts(live_app)

    response = client.post("/consent/confirm", data={"token": stale})

    assert response.status_code == 410
    assert "This link has expired" in response.text
    assert _counts(live_app) == before
    assert _states(live_app, customer)["email_marketing"] == "pending"


def _pending_id(live_app: LiveApp, customer: int) -> int:
    with unit_of_work(live_app.engine) as session:
        return int(
            session.scalar(
                select(func.max(ConsentEvent.id)).where(
                    ConsentEvent.customer_id == customer, ConsentEvent.status == "pending"
                )
            )
            or 0
        )


def test_a_genuine_key_cannot_confirm_what_is_not_pending(
    live_app: LiveApp, client: httpx.Client
) -> None:
    customer = live_app.new_customer(language="en")
    _grant(live_app, customer, "sms_marketing")
    with unit_of_work(live_app.engine) as session:
        granted = int(session.scalar(select(func.max(ConsentEvent.id))) or 0)
    token = sign_link(
        ConsentLink(LinkAction.CONFIRM, _external_id(live_app, customer), "sms_marketing", granted),
        secret=SECRET,
    )

    response = client.post("/consent/confirm", data={"token": token})

    assert response.status_code == 400
    assert _states(live_app, customer)["sms_marketing"] == "granted"


def test_a_person_who_consents_is_not_asked_to_confirm(live_app: LiveApp) -> None:
    customer = live_app.new_customer()
    _grant(live_app, customer, "email_marketing")

    with pytest.raises(InvalidInputError, match="already consents"):
        _confirmation_url(live_app, customer)


def test_the_access_log_never_shows_a_link_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', (
            "127.0.0.1:5000", "GET", "/consent/unsubscribe?token=eyJjIjoi.abc.def&lang=fr", "1.1", 200,
        ), None,
    )  # fmt: skip

    assert RedactLinkTokens().filter(record)
    assert record.getMessage() == (
        '127.0.0.1:5000 - "GET /consent/unsubscribe?token=[redacted]&lang=fr HTTP/1.1" 200'
    )

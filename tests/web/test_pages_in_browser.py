"""The public pages in a real browser (Debian Chromium) with JavaScript off: they work as forms."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from amigo.consent.links import LinkAction
from amigo.consent.preferences import page_link, request_confirmation
from amigo.consent.service import current_consents
from amigo.core.db import unit_of_work
from web.conftest import LiveApp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Start headless Chromium once for the module (make test installs it)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: make test installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed (make test installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """Open a page with JavaScript disabled: the pages must not need it."""
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    yield context.new_page()
    context.close()


def _states(live_app: LiveApp, customer: int) -> dict[str, str]:
    with unit_of_work(live_app.engine) as session:
        return {
            p: c.status for p, c in current_consents(session=session, customer_id=customer).items()
        }


def test_a_person_sets_preferences_and_unsubscribes_without_javascript(
    live_app: LiveApp, page: Page
) -> None:
    customer = live_app.new_customer(first_name="Inès", language=None)
    with unit_of_work(live_app.engine) as session:
        preferences = page_link(
            session=session,
            customer_id=customer,
            action=LinkAction.PREFERENCES,
            settings=live_app.settings.consent,
            base_url=live_app.url,
        )
        unsubscribe = page_link(
            session=session,
            customer_id=customer,
            action=LinkAction.UNSUBSCRIBE,
            settings=live_app.settings.consent,
            purpose="sms_marketing",
            base_url=live_app.url,
        )

    page.goto(preferences)
    assert (
        page.locator("h1").inner_text() == "Mes préférences de contact"
    )  # from the browser's locale
    page.get_by_label("Offres par SMS").check()
    page.get_by_label("Courrier postal").check()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    assert page.get_by_role("status").inner_text() == "Vos choix sont enregistrés."
    assert page.get_by_label("Offres par SMS").is_checked()
    assert _states(live_app, customer)["sms_marketing"] == "granted"

    page.goto(unsubscribe)
    page.get_by_role("button", name="Me désinscrire").click()
    assert "vous ne recevrez plus « Offres par SMS »" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Gérer toutes mes préférences").click()
    assert not page.get_by_label("Offres par SMS").is_checked()
    assert page.get_by_label("Courrier postal").is_checked()
    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "My contact preferences"
    assert _states(live_app, customer)["sms_marketing"] == "withdrawn"


def test_a_person_confirms_a_subscription_in_english(live_app: LiveApp, page: Page) -> None:
    customer = live_app.new_customer(first_name="Tom", language="en")
    with unit_of_work(live_app.engine) as session:
        url = request_confirmation(
            session=session,
            customer_id=customer,
            purpose="email_marketing",
            channel="email",
            settings=live_app.settings.consent.model_copy(update={"public_base_url": live_app.url}),
            now=datetime.now(UTC),
        )

    page.goto(url)
    assert page.locator("h1").inner_text() == "Confirm your subscription"
    page.get_by_role("button", name="I confirm").click()
    assert "your subscription is confirmed" in page.get_by_role("status").inner_text()
    page.go_back()
    page.get_by_role("button", name="I confirm").click()
    assert "already confirmed" in page.get_by_role("status").inner_text()
    assert _states(live_app, customer)["email_marketing"] == "confirmed"

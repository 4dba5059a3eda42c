"""The Y2 SOAP client against the stand-in, the translation of its answers, and the CLI."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from amigo.cli.main import app
from amigo.connectors.cegid import mapping, translate
from amigo.connectors.cegid.soap import (
    CegidAuthError,
    CegidFaultError,
    DocumentKey,
    Y2Client,
    client_from_settings,
)
from amigo.connectors.resilience import PeerUnavailableError, RetryPolicy
from amigo.core.config import CegidSettings, get_settings
from amigo.core.db import make_engine
from amigo.core.errors import InvalidInputError
from amigo.core.migrate import upgrade
from amigo.ingest.facts import MappingContext
from connectors.cegid_standin import (
    DATABASE,
    PASSWORD,
    USER,
    WRONG_PASSWORD,
    Faults,
    StandinY2,
    add_stores,
    local,
    running,
    seed_data,
)

START = date(2025, 3, 1)
UNTIL = date(2025, 3, 3)

# --- translation (pure) --------------------------------------------------------------

_PARIS = {"PAR01": ("Europe/Paris", "FR")}
ctx = MappingContext(
    store_timezone=lambda store: _PARIS.get(store, (None, None))[0],
    store_country=lambda store: _PARIS.get(store, (None, None))[1],
)


def test_values_become_export_text() -> None:
    assert translate.text(None) == ""
    assert translate.text(True) == "1"
    assert translate.text(False) == "0"
    assert translate.text(local(2025, 3, 1, 9, 5, 7)) == "01/03/2025 09:05:07"
    assert translate.text(Decimal("129.90")) == "129,90"
    assert translate.text(Decimal("-2")) == "-2"
    assert translate.text(Decimal("3.000")) == "3"
    assert translate.text(12.5) == "12,5"
    assert translate.text(" PAR01 ") == "PAR01"


CUSTOMER = {
    "CustomerId": "PAR01000042",
    "TitleId": "MRS",
    "FirstName": "chloé",
    "LastName": "DUBOIS",
    "BirthDateData": {"BirthDateDay": 9, "BirthDateMonth": 4, "BirthDateYear": 1988},
    "EmailData": {"Email": "Chloe.Dubois@Example.org", "AlternativeEmail": None},
    "PhoneData": {"CellularPhoneNumber": "06 12 34 56 78", "HomePhoneNumber": None},
    "AddressData": {"AddressLine1": "3 rue Vieille du Temple", "ZipCode": "75004",
                    "City": "PARIS", "CountryId": "FRA"},
    "LanguageId": "FR",
    "UsualStoreId": "PAR01",
    "CreationStoreId": "PAR01",
    "OptinEmail": "BrandOnly",
    "OptinMobile": "DoNotUse",
    "OptinPostal": None,
    "UserDefinedTexts": {"UserDefinedText": [{"Id": 2, "Value": "x"}, {"Id": 1, "Value": "VIP"}]},
    "LastModificationDate": local(2025, 2, 14, 18, 30),
    "Closed": False,
    "IsProspect": False,
}  # fmt: skip


def test_a_customer_becomes_a_customers_csv_row_the_mapper_reads() -> None:
    row = translate.customer_row(CUSTOMER)
    assert row["Email"] == "Chloe.Dubois@Example.org"
    assert row["BirthDateDay"] == "9"
    assert row["BirthDateYear"] == "1988"
    assert row["OptinEmail"] == "BrandOnly"
    assert row["OptinPostal"] == ""
    assert row["UserDefinedText1"] == "VIP"
    assert row["LastModificationDate"] == "14/02/2025 18:30:00"
    assert row["Closed"] == "0"
    assert all(isinstance(value, str) for value in row.values())

    result = mapping.CUSTOMERS.map(row, ctx)
    assert result.reject is None
    assert result.facts is not None
    facts = result.facts
    assert facts.email == "Chloe.Dubois@example.org"
    assert facts.phone == "+33612345678"
    assert facts.preferred_store_id == "PAR01"
    assert facts.tier == "vip"
    assert facts.birth_date == date(1988, 4, 9)
    assert {c.purpose: c.raw_value for c in facts.consents} == {
        "email_marketing": "BrandOnly",
        "sms_marketing": "DoNotUse",
    }


def test_a_document_becomes_receipt_line_and_payment_rows() -> None:
    header = {
        "Key": {"Stump": "PAR01C1", "Number": 17, "Type": "ReturnNotice"},
        "Date": local(2025, 3, 2, 15, 4),
        "StoreId": "PAR01",
        "CustomerId": "PAR01000042",
        "CurrencyId": "EUR",
        "TaxIncludedTotalAmount": Decimal("-129.90"),
        "TotalQuantity": Decimal("-1"),
        "Status": "None",
        "Active": True,
    }
    receipt = translate.receipt_row(header)
    assert receipt == {
        "Stump": "PAR01C1", "Number": "17", "Type": "ReturnNotice", "Date": "02/03/2025 15:04:00",
        "StoreId": "PAR01", "CustomerId": "PAR01000042", "SalesPersonId": "", "CurrencyId": "EUR",
        "TaxIncludedTotalAmount": "-129,90", "TotalQuantity": "-1", "Status": "None", "Active": "1",
    }  # fmt: skip
    assert mapping.receipt_key(receipt) == "PAR01C1-17"
    lines = translate.line_rows(
        header,
        [{"Rank": 1, "ItemCode": "SKU1", "Label": "Pull", "Quantity": Decimal("-1"),
          "TaxIncludedUnitPrice": Decimal("144.33"), "TaxIncludedNetUnitPrice": Decimal("129.90")}],
    )  # fmt: skip
    assert lines[0]["Rank"] == "1"
    assert lines[0]["Quantity"] == "-1"
    assert mapping.receipt_line_key(lines[0]) == "PAR01C1-17-1"
    payments = translate.payment_rows(
        header,
        [{"Amount": Decimal("-100"), "Code": "CB"}, {"Amount": Decimal("-29.9"), "Code": "ESP"}],
    )
    assert [p["Rank"] for p in payments] == ["1", "2"]  # Get_Payment has no rank: its position
    assert payments[1]["Amount"] == "-29,9"
    paid = mapping.RECEIPT_PAYMENTS.map(payments[1], ctx)
    assert paid.facts is not None
    assert paid.facts.payment.amount_cents == -2990


# --- the client against the stand-in ------------------------------------------------


@pytest.fixture
def y2() -> Iterator[tuple[StandinY2, str]]:
    """Serve a small stand-in Y2."""
    standin = StandinY2(seed_data(customers=12, receipts=20, start=START, days=3))
    with running(standin) as url:
        yield standin, url


def _client(url: str, *, password: str = PASSWORD, attempts: int = 6) -> Y2Client:
    return Y2Client(
        base_url=url,
        database_id=DATABASE,
        username=USER,
        password=password,
        timeout=0.3,
        policy=RetryPolicy(attempts=attempts, base_seconds=0.0, max_seconds=0.0),
        sleep=lambda _seconds: None,
    )


def test_the_client_reads_customers_and_documents(y2: tuple[StandinY2, str]) -> None:
    standin, url = y2
    with _client(url) as client:
        assert client.hello("AMIgo") == "Hello AMIgo"
        customer = client.customer("PAR01000000")
        assert customer is not None
        assert customer["EmailData"]["Email"] == "client.0@example.org"
        assert (
            customer["LastModificationDate"]
            == standin.data.customers["PAR01000000"]["LastModificationDate"]
        )
        found = client.search_customers(max_results=3, creation_store_id="LON01")
        assert [c["CustomerId"] for c in found] == ["LON01000001", "LON01000004", "LON01000007"]
        headers = client.header_page(
            begin=local(2025, 3, 1), end=local(2025, 3, 3, 23, 59, 59),
            page_index=1, page_size=100,
        )  # fmt: skip
        assert len(headers) == 20
        key = headers[0]["Key"]
        document = client.document(DocumentKey(key["Type"], key["Stump"], key["Number"]))
        assert document is not None
        stored = standin.data.documents[key["Stump"], key["Number"]]
        assert len(document["Lines"]) == len(stored["Lines"])
        assert document["Payments"][0]["Amount"] == stored["Payments"][0]["Amount"]


@pytest.mark.parametrize("kind", ["http500", "http503", "server_fault", "drop", "slow"])
def test_transient_failures_are_retried(y2: tuple[StandinY2, str], kind: str) -> None:
    standin, url = y2
    standin.faults = Faults(rate=0.5, kinds=(kind,), slow_seconds=0.6, seed=3)
    with _client(url, attempts=12) as client:
        for n in range(4):
            assert client.customer(f"PAR01{n * 3:06d}") is not None
        # Each injected fault was tried again (a loaded machine may add a late sound answer).
        assert client.retries >= standin.calls.faults[kind] > 0
        assert client.breaker.state.value == "closed"


def test_a_client_fault_is_a_clear_error_not_retried(y2: tuple[StandinY2, str]) -> None:
    standin, url = y2
    with _client(url) as client, pytest.raises(CegidFaultError) as raised:
        client.customer("NOBODY")
    assert str(raised.value) == (
        "Y2 refused GetCustomerDetail(NOBODY) (s:Client): Le client NOBODY n'existe pas."
    )
    assert standin.calls.operations["GetCustomerDetail"] == 1
    assert client.retries == 0


def test_a_wrong_database_is_a_client_fault(y2: tuple[StandinY2, str]) -> None:
    _standin, url = y2
    client = _client(url)
    client.database_id = "OTHER"
    with client, pytest.raises(CegidFaultError, match="La base 'OTHER' est inconnue"):
        client.hello()


def test_refused_credentials_are_not_retried_and_the_password_never_shows(
    y2: tuple[StandinY2, str], caplog: pytest.LogCaptureFixture
) -> None:
    standin, url = y2
    caplog.set_level(logging.DEBUG)
    with _client(url, password=WRONG_PASSWORD) as client, pytest.raises(CegidAuthError) as raised:
        client.hello()
    assert "AMIGO_CEGID_USERNAME" in str(raised.value)
    assert standin.calls.unauthorized == 1
    assert WRONG_PASSWORD not in caplog.text
    assert WRONG_PASSWORD not in str(raised.value)


def test_a_dead_server_opens_the_breaker_within_a_run() -> None:
    standin = StandinY2(seed_data(customers=2, receipts=2, start=START, days=1), Faults(down=True))
    with running(standin) as url, _client(url, attempts=2) as client:
        for _ in range(client.breaker.failure_threshold):
            with pytest.raises(PeerUnavailableError, match="failed 2 times"):
                client.hello()
        with pytest.raises(PeerUnavailableError, match="circuit breaker is open"):
            client.hello()
    assert standin.calls.faults["drop"] == 2 * client.breaker.failure_threshold


def test_missing_settings_are_named() -> None:
    with pytest.raises(InvalidInputError) as raised:
        client_from_settings(CegidSettings(base_url="https://y2.example.org/Y2"))
    assert str(raised.value) == (
        "Cegid Y2's web services are not configured: set AMIGO_CEGID_DATABASE_ID, "
        "AMIGO_CEGID_USERNAME, AMIGO_CEGID_PASSWORD"
    )


# --- the CLI ---------------------------------------------------------------------------


def _amigo(*args: str, env: dict[str, str]) -> Result:
    """Run `amigo connectors cegid ...` in this process with these settings."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("AMIGO_CEGID_")}
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(
            app, ["connectors", "cegid", *args], env={**unset, "COLUMNS": "200", **env}
        )
    finally:
        get_settings.cache_clear()


def _env(url: str, database_url: str, **more: str) -> dict[str, str]:
    return {
        "AMIGO_DATABASE_URL": database_url,
        "AMIGO_CEGID_BASE_URL": url,
        "AMIGO_CEGID_DATABASE_ID": DATABASE,
        "AMIGO_CEGID_USERNAME": USER,
        "AMIGO_CEGID_PASSWORD": PASSWORD,
        "AMIGO_CEGID_RECONCILE_HOURS": "0",
        **more,
    }


def _flat(output: str) -> str:
    """Return a command's output on one line: the console wraps at the runner's width."""
    return " ".join(output.split())


def test_the_cli_pings_syncs_and_refuses_missing_settings(
    tmp_path: Path, y2: tuple[StandinY2, str]
) -> None:
    # The commands only delegate: the sync itself runs on both backends in test_cegid_sync.
    database_url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    add_stores(engine)
    engine.dispose()
    _standin, url = y2
    missing = _amigo("sync", env={"AMIGO_DATABASE_URL": database_url})
    assert missing.exit_code == 2
    assert "AMIGO_CEGID_BASE_URL, AMIGO_CEGID_DATABASE_ID" in _flat(missing.stderr)

    ping = _amigo("ping", env=_env(url, database_url))
    assert ping.exit_code == 0, ping.output
    assert "answered 'Hello AMIgo'; a search returned 1 customer(s)" in _flat(ping.stdout)

    wrong = _amigo("ping", env=_env(url, database_url, AMIGO_CEGID_PASSWORD=WRONG_PASSWORD))
    assert wrong.exit_code == 2
    assert "Y2 refused the credentials (HTTP 401 on HelloWorld)" in _flat(wrong.stderr)

    synced = _amigo(
        "sync", "--since", str(START), "--until", str(UNTIL), "--reconcile",
        env=_env(url, database_url),
    )  # fmt: skip
    assert synced.exit_code == 0, synced.output
    assert "receipts 20" in _flat(synced.stdout)
    assert "reconciliation: 12 customers compared" in _flat(synced.stdout)
    assert "retries 0, breaker closed" in _flat(synced.stdout)

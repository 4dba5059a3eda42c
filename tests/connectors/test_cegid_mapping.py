"""Cegid Y2 rows, as the CSV reader hands them over, map to the right facts or rejects."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amigo.connectors.base import RowMapper
from amigo.connectors.cegid import mapping
from amigo.ingest.facts import MappingContext, MappingResult

_STORES = {
    "PAR01": ("Europe/Paris", "FR"),
    "TYO01": ("Asia/Tokyo", "JP"),
    "NYC01": ("America/New_York", "US"),
}


def _store_timezone(store_id: str) -> str | None:
    return _STORES[store_id][0] if store_id in _STORES else None


def _store_country(store_id: str) -> str | None:
    return _STORES[store_id][1] if store_id in _STORES else None


CTX = MappingContext(store_timezone=_store_timezone, store_country=_store_country)

# The headers `amigo generate` writes (docs/formats.md): every value is text, "" when empty.
STORE_COLUMNS = (
    "StoreId", "StoreName", "AddressLine1", "AddressLine2", "ZipCode", "City", "CountryId",
    "PhoneNumber", "Email", "OpeningHours", "ManagerId", "RegionId", "TimeZoneId",
)  # fmt: skip
ASSOCIATE_COLUMNS = ("SalesPersonId", "FirstName", "LastName", "StoreId", "Active")
PRODUCT_COLUMNS = (
    "ItemCode", "Label", "FamilyId", "CollectionId", "SeasonId", "TaxIncludedPrice", "CurrencyId",
)  # fmt: skip
CUSTOMER_COLUMNS = (
    "CustomerId", "TitleId", "FirstName", "LastName", "BirthDateDay", "BirthDateMonth",
    "BirthDateYear", "Email", "AlternativeEmail", "CellularPhoneNumber", "HomePhoneNumber",
    "AddressLine1", "AddressLine2", "AddressLine3", "ZipCode", "City", "RegionId", "CountryId",
    "LanguageId", "UsualStoreId", "CreationStoreId", "SalesPersonId", "IsProspect", "OptinEmail",
    "OptinMobile", "OptinPostal", "OptinHomePhone", "UserDefinedText1", "CreationDate",
    "LastModificationDate", "Closed",
)  # fmt: skip
RECEIPT_COLUMNS = (
    "Stump", "Number", "Type", "Date", "StoreId", "CustomerId", "SalesPersonId", "CurrencyId",
    "TaxIncludedTotalAmount", "TotalQuantity", "Status", "Active",
)  # fmt: skip
LINE_COLUMNS = (
    "Stump", "Number", "Rank", "ItemCode", "Label", "Quantity", "TaxIncludedUnitPrice",
    "TaxIncludedNetUnitPrice",
)  # fmt: skip
PAYMENT_COLUMNS = (
    "Stump", "Number", "Rank", "Code", "Label", "Amount", "Currency", "DueDate",
    "IsReceivedPayment",
)  # fmt: skip


def _row(columns: tuple[str, ...], **values: str) -> dict[str, Any]:
    """Return a CSV row with every column of the header, "" unless given."""
    unknown = set(values) - set(columns)
    assert not unknown, unknown
    return {column: values.get(column, "") for column in columns}


def store_row(**values: str) -> dict[str, Any]:
    base = {
        "StoreId": "PAR01",
        "StoreName": "AMI Paris Saint-Honoré",
        "AddressLine1": "109 rue Saint-Honoré",
        "ZipCode": "75001",
        "City": "PARIS",
        "CountryId": "FRA",
        "PhoneNumber": "01 42 60 00 00",
        "Email": "saint-honore@amiparis.example",
        "OpeningHours": "Mon-Sat 10:00-19:00",
        "ManagerId": "S0001",
        "RegionId": "EUROPE",
        "TimeZoneId": "Europe/Paris",
    }
    return _row(STORE_COLUMNS, **(base | values))


def customer_row(**values: str) -> dict[str, Any]:
    base = {
        "CustomerId": "PAR01000123",
        "TitleId": "MR",
        "FirstName": "JEAN-PIERRE",
        "LastName": "dupont",
        "BirthDateDay": "03",
        "BirthDateMonth": "07",
        "BirthDateYear": "1985",
        "Email": "Jean.Dupont@Gmail.com",
        "CellularPhoneNumber": "06 12 34 56 78",
        "AddressLine1": "12 rue de la Paix",
        "ZipCode": "75002",
        "City": "PARIS",
        "CountryId": "FRA",
        "LanguageId": "FR",
        "UsualStoreId": "PAR01",
        "CreationStoreId": "PAR01",
        "SalesPersonId": "S0042",
        "IsProspect": "0",
        "OptinEmail": "BrandOnly",
        "UserDefinedText1": "VIP",
        "CreationDate": "15/07/2025 14:00:00",
        "LastModificationDate": "20/01/2026 09:30:00",
        "Closed": "0",
    }
    return _row(CUSTOMER_COLUMNS, **(base | values))


def receipt_row(**values: str) -> dict[str, Any]:
    base = {
        "Stump": "PAR01",
        "Number": "000123",
        "Type": "Receipt",
        "Date": "15/07/2025 14:00:00",
        "StoreId": "PAR01",
        "CustomerId": "PAR01000123",
        "SalesPersonId": "S0042",
        "CurrencyId": "EUR",
        "TaxIncludedTotalAmount": "259,80",
        "TotalQuantity": "2",
        "Status": "None",
        "Active": "1",
    }
    return _row(RECEIPT_COLUMNS, **(base | values))


def line_row(**values: str) -> dict[str, Any]:
    base = {
        "Stump": "PAR01",
        "Number": "000123",
        "Rank": "1",
        "ItemCode": "UKS001.018-430",
        "Label": "Pull Ami de Coeur",
        "Quantity": "2",
        "TaxIncludedUnitPrice": "129,90",
        "TaxIncludedNetUnitPrice": "116,91",
    }
    return _row(LINE_COLUMNS, **(base | values))


def payment_row(**values: str) -> dict[str, Any]:
    base = {
        "Stump": "PAR01",
        "Number": "000123",
        "Rank": "1",
        "Code": "CB",
        "Label": "Carte bancaire",
        "Amount": "259,80",
        "Currency": "EUR",
        "DueDate": "15/07/2025 14:00:00",
        "IsReceivedPayment": "1",
    }
    return _row(PAYMENT_COLUMNS, **(base | values))


def _facts(result: MappingResult[Any]) -> Any:
    assert result.reject is None, result.reject
    assert result.facts is not None
    return result.facts


def _codes(result: MappingResult[Any]) -> set[tuple[str, str]]:
    return {(issue.field, issue.code) for issue in result.issues}


def _rejected(result: MappingResult[Any]) -> tuple[str, str]:
    assert result.facts is None
    assert result.reject is not None
    return result.reject.field, result.reject.code


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- the mapper table -------------------------------------------------------------

MAPPERS: list[tuple[RowMapper[Any], tuple[str, ...], str]] = [
    (mapping.STORES, STORE_COLUMNS, "store"),
    (mapping.ASSOCIATES, ASSOCIATE_COLUMNS, "associate"),
    (mapping.PRODUCTS, PRODUCT_COLUMNS, "product"),
    (mapping.CUSTOMERS, CUSTOMER_COLUMNS, "customer"),
    (mapping.RECEIPTS, RECEIPT_COLUMNS, "order"),
    (mapping.RECEIPT_LINES, LINE_COLUMNS, "order_line"),
    (mapping.RECEIPT_PAYMENTS, PAYMENT_COLUMNS, "payment"),
]


@pytest.mark.parametrize(("mapper", "columns", "entity"), MAPPERS)
def test_required_columns_are_in_the_exported_header(
    mapper: RowMapper[Any], columns: tuple[str, ...], entity: str
) -> None:
    assert mapper.entity == entity
    assert set(mapper.required) <= set(columns)


@pytest.mark.parametrize(
    ("mapper", "row", "key"),
    [
        (mapping.STORES, {"StoreId": " PAR01 "}, "PAR01"),
        (mapping.ASSOCIATES, {"SalesPersonId": "S0042"}, "S0042"),
        (mapping.PRODUCTS, {"ItemCode": "UKS001"}, "UKS001"),
        (mapping.CUSTOMERS, {"CustomerId": "PAR01000123 "}, "PAR01000123"),
        (mapping.RECEIPTS, {"Stump": "PAR01", "Number": " 123"}, "PAR01-123"),
        (mapping.RECEIPT_LINES, {"Stump": "PAR01", "Number": "123", "Rank": "2"}, "PAR01-123-2"),
        (
            mapping.RECEIPT_PAYMENTS,
            {"Stump": "PAR01", "Number": "123", "Rank": "1"},
            "PAR01-123-P1",
        ),
        (mapping.CUSTOMERS, {"CustomerId": "  "}, None),
        (mapping.CUSTOMERS, {}, None),
        (mapping.RECEIPTS, {"Stump": "PAR01", "Number": ""}, None),
        (mapping.RECEIPT_LINES, {"Stump": "PAR01", "Number": "123", "Rank": ""}, None),
        (mapping.RECEIPT_PAYMENTS, {"Stump": "", "Number": "123", "Rank": "1"}, None),
    ],
)
def test_keys(mapper: RowMapper[Any], row: dict[str, Any], key: str | None) -> None:
    assert mapper.key(row) == key


# --- stores, associates, products -------------------------------------------------


def test_store_maps_every_column() -> None:
    store = _facts(mapping.STORES.map(store_row(), CTX))
    assert store.id == "PAR01"
    assert store.name == "AMI Paris Saint-Honoré"
    assert store.region == "Europe"
    assert store.timezone == "Europe/Paris"
    assert store.country == "FR"
    assert store.phone == "+33142600000"
    assert store.postal_code == "75001"
    assert store.city == "Paris"
    assert store.email == "saint-honore@amiparis.example"
    assert store.opening_hours == "Mon-Sat 10:00-19:00"
    assert store.manager_associate_id == "S0001"


def test_store_phone_uses_the_stores_own_country() -> None:
    row = store_row(
        StoreId="TYO01",
        CountryId="JPN",
        PhoneNumber="03-1234-5678",
        RegionId="ASIA",
        TimeZoneId="Asia/Tokyo",
        ZipCode="",
    )
    store = _facts(mapping.STORES.map(row, CTX))
    assert (store.country, store.phone, store.region) == ("JP", "+81312345678", "Asia")


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"RegionId": "OCEANIA"}, ("region", "unknown_region")),
        ({"RegionId": ""}, ("region", "unknown_region")),
        ({"TimeZoneId": "Europe/Nowhere"}, ("timezone", "unknown_timezone")),
        ({"TimeZoneId": "../../etc/passwd"}, ("timezone", "unknown_timezone")),
        ({"TimeZoneId": ""}, ("timezone", "unknown_timezone")),
        ({"StoreName": " "}, ("name", "missing_value")),
        ({"StoreId": ""}, ("id", "missing_id")),
    ],
)
def test_store_rejects(values: dict[str, str], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.STORES.map(store_row(**values), CTX)) == reason


def test_store_optional_problems_are_issues() -> None:
    result = mapping.STORES.map(store_row(CountryId="XYZ", PhoneNumber="12", Email="nope"), CTX)
    store = _facts(result)
    assert (store.country, store.phone, store.email) == (None, None, None)
    assert {("country", "unknown_country"), ("phone", "invalid_phone")} <= _codes(result)
    assert ("email", "invalid_email") in _codes(result)


@pytest.mark.parametrize(
    ("active", "expected"), [("", True), ("1", True), ("X", True), ("0", False), ("false", False)]
)
def test_associate_active(active: str, expected: bool) -> None:
    row = _row(
        ASSOCIATE_COLUMNS,
        SalesPersonId="S0042",
        FirstName="MARIE",
        LastName="de la tour",
        StoreId="PAR01",
        Active=active,
    )
    associate = _facts(mapping.ASSOCIATES.map(row, CTX))
    assert associate.active is expected
    assert (associate.first_name, associate.last_name, associate.store_id) == (
        "Marie",
        "de la Tour",
        "PAR01",
    )


def test_associate_invalid_active_is_an_issue_and_stays_active() -> None:
    result = mapping.ASSOCIATES.map(_row(ASSOCIATE_COLUMNS, SalesPersonId="S1", Active="?"), CTX)
    assert _facts(result).active is True
    assert _codes(result) == {("active", "invalid_boolean")}


def test_product_price_and_currency() -> None:
    row = _row(
        PRODUCT_COLUMNS,
        ItemCode="UKS001.018-430",
        Label="Pull Ami de Coeur",
        FamilyId="KNITWEAR",
        CollectionId="AMI DE COEUR",
        SeasonId="FW25",
        TaxIncludedPrice="1 290,00",
        CurrencyId="eur",
    )
    product = _facts(mapping.PRODUCTS.map(row, CTX))
    assert (product.sku, product.name, product.category) == (
        "UKS001.018-430",
        "Pull Ami de Coeur",
        "KNITWEAR",
    )
    assert (product.collection, product.season) == ("AMI DE COEUR", "FW25")
    assert (product.price_cents, product.currency) == (129000, "EUR")


def test_product_bad_price_and_currency_are_issues() -> None:
    row = _row(
        PRODUCT_COLUMNS, ItemCode="X1", Label="Scarf", TaxIncludedPrice="cher", CurrencyId="EURO"
    )
    result = mapping.PRODUCTS.map(row, CTX)
    product = _facts(result)
    assert (product.price_cents, product.currency, product.category) == (None, None, None)
    assert _codes(result) == {("price", "invalid_amount"), ("currency", "invalid_currency")}


def test_product_without_label_is_rejected() -> None:
    row = _row(PRODUCT_COLUMNS, ItemCode="X1", TaxIncludedPrice="10")
    assert _rejected(mapping.PRODUCTS.map(row, CTX)) == ("name", "missing_value")


# --- customers --------------------------------------------------------------------


def test_customer_maps_a_complete_row() -> None:
    result = mapping.CUSTOMERS.map(customer_row(), CTX)
    customer = _facts(result)
    assert result.issues == ()
    assert (customer.source_system, customer.source_id, customer.origin) == (
        "cegid",
        "PAR01000123",
        "retail",
    )
    assert customer.email == "Jean.Dupont@gmail.com"
    assert customer.email_match_key == "jeandupont@gmail.com"
    assert (customer.first_name, customer.last_name) == ("Jean-Pierre", "Dupont")
    assert customer.phone == "+33612345678"
    assert customer.birth_date == date(1985, 7, 3)
    assert (customer.preferred_language, customer.preferred_store_id) == ("fr", "PAR01")
    assert (customer.tier, customer.associate_id) == ("vip", "S0042")
    assert (customer.address_line1, customer.postal_code, customer.city, customer.country) == (
        "12 rue de la Paix",
        "75002",
        "Paris",
        "FR",
    )
    # Paris is UTC+2 in July and UTC+1 in January.
    assert customer.created_at == _utc(2025, 7, 15, 12)
    assert customer.observed_at == _utc(2026, 1, 20, 8, 30)
    assert customer.closed is False


@pytest.mark.parametrize(
    "phone",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "(+33) 6-12-34-56-78",
    ],
)
@pytest.mark.parametrize(
    "where",
    [
        {"CountryId": "FRA"},
        # No country on the record: the usual store's country is the hint...
        {"CountryId": "", "UsualStoreId": "PAR01", "CreationStoreId": ""},
        # ...or the creation store's.
        {"CountryId": "", "UsualStoreId": "", "CreationStoreId": "PAR01"},
    ],
)
def test_customer_french_phone_variants(phone: str, where: dict[str, str]) -> None:
    row = customer_row(CellularPhoneNumber=phone, ZipCode="", **where)
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).phone == "+33612345678"


def test_customer_record_country_wins_over_store_country() -> None:
    row = customer_row(CellularPhoneNumber="03-1234-5678", CountryId="JPN", ZipCode="")
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).phone == "+81312345678"


def test_national_phone_without_any_country_is_an_issue() -> None:
    row = customer_row(CountryId="", UsualStoreId="", CreationStoreId="", ZipCode="")
    result = mapping.CUSTOMERS.map(row, CTX)
    assert _facts(result).phone is None
    assert ("phone", "invalid_phone") in _codes(result)
    international = customer_row(
        CountryId="", UsualStoreId="ZZZ99", CellularPhoneNumber="+33 6 12 34 56 78"
    )
    assert _facts(mapping.CUSTOMERS.map(international, CTX)).phone == "+33612345678"


def test_customer_home_phone_when_mobile_is_invalid() -> None:
    row = customer_row(CellularPhoneNumber="06 12 34 56 7", HomePhoneNumber="01 23 45 67 89")
    result = mapping.CUSTOMERS.map(row, CTX)
    assert _facts(result).phone == "+33123456789"
    assert _codes(result) == {("phone", "invalid_phone")}


def test_customer_mobile_is_preferred_over_home() -> None:
    row = customer_row(HomePhoneNumber="01 23 45 67 89")
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).phone == "+33612345678"


def test_customer_alternative_email_only_when_email_is_unusable() -> None:
    both = customer_row(AlternativeEmail="jp@example.fr")
    assert _facts(mapping.CUSTOMERS.map(both, CTX)).email == "Jean.Dupont@gmail.com"
    empty = customer_row(Email="", AlternativeEmail="jp@example.fr")
    assert _facts(mapping.CUSTOMERS.map(empty, CTX)).email == "jp@example.fr"
    invalid = mapping.CUSTOMERS.map(
        customer_row(Email="jean.dupont@", AlternativeEmail="jp@example.fr"), CTX
    )
    assert _facts(invalid).email == "jp@example.fr"
    assert _codes(invalid) == {("email", "invalid_email")}


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("HÉLÈNE", "LEFÈVRE", ("Hélène", "Lefèvre")),
        ("françois", "LE GALL", ("François", "Le Gall")),
        ("Zoë", "CŒURDEROY", ("Zoë", "Cœurderoy")),
        ("JOSÉ", "MÜLLER", ("José", "Müller")),
        ("Anne\u00a0Sophie", " Dupont ", ("Anne Sophie", "Dupont")),
    ],
)
def test_customer_names_decoded_from_windows_1252(
    first: str, last: str, expected: tuple[str, str]
) -> None:
    customer = _facts(mapping.CUSTOMERS.map(customer_row(FirstName=first, LastName=last), CTX))
    assert (customer.first_name, customer.last_name) == expected


def test_customer_with_only_an_email_has_no_other_values_and_no_issues() -> None:
    row = _row(CUSTOMER_COLUMNS, CustomerId="PAR01000999", Email="solo@example.com")
    result = mapping.CUSTOMERS.map(row, CTX)
    customer = _facts(result)
    assert result.issues == ()
    assert customer.email == "solo@example.com"
    for name in (
        "first_name",
        "last_name",
        "phone",
        "birth_date",
        "preferred_language",
        "preferred_store_id",
        "tier",
        "address_line1",
        "address_line2",
        "postal_code",
        "city",
        "region",
        "country",
        "associate_id",
        "created_at",
        "observed_at",
    ):
        assert getattr(customer, name) is None, name
    assert customer.consents == ()
    assert customer.closed is False


def test_customer_missing_columns_are_empty_values() -> None:
    result = mapping.CUSTOMERS.map({"CustomerId": "C1", "CellularPhoneNumber": "+33612345678"}, CTX)
    assert _facts(result).phone == "+33612345678"
    assert result.issues == ()


@pytest.mark.parametrize(
    "values",
    [
        {"Email": "", "CellularPhoneNumber": "", "ZipCode": ""},  # last name + birth date
        {
            "Email": "",
            "CellularPhoneNumber": "",
            "BirthDateDay": "",
            "BirthDateMonth": "",
            "BirthDateYear": "",
        },  # last name + postal code
        {"CellularPhoneNumber": "", "LastName": ""},  # email only
        {"Email": "", "LastName": ""},  # phone only
    ],
)
def test_customer_identifiable_enough_is_loaded(values: dict[str, str]) -> None:
    assert mapping.CUSTOMERS.map(customer_row(**values), CTX).facts is not None


@pytest.mark.parametrize(
    "values",
    [
        # A last name alone does not tell namesakes apart.
        {
            "Email": "",
            "CellularPhoneNumber": "",
            "ZipCode": "",
            "BirthDateDay": "",
            "BirthDateMonth": "",
            "BirthDateYear": "",
        },
        # Birth date and postal code without a last name.
        {"Email": "", "CellularPhoneNumber": "", "LastName": ""},
        # Only unusable values.
        {
            "Email": "jean@",
            "CellularPhoneNumber": "12",
            "LastName": "",
            "BirthDateDay": "31",
            "BirthDateMonth": "02",
            "BirthDateYear": "1980",
        },
    ],
)
def test_customer_unidentifiable_is_rejected(values: dict[str, str]) -> None:
    result = mapping.CUSTOMERS.map(customer_row(**values), CTX)
    assert _rejected(result) == ("record", "unidentifiable")


def test_rejected_customer_keeps_the_issues_that_explain_it() -> None:
    row = customer_row(Email="jean@", CellularPhoneNumber="12", LastName="")
    result = mapping.CUSTOMERS.map(row, CTX)
    assert _rejected(result) == ("record", "unidentifiable")
    assert {("email", "invalid_email"), ("phone", "invalid_phone")} <= _codes(result)


@pytest.mark.parametrize(
    ("values", "issue"),
    [
        ({"BirthDateDay": "31", "BirthDateMonth": "02"}, ("birth_date", "invalid_date")),
        ({"BirthDateYear": "85"}, ("birth_date", "invalid_date")),
        ({"BirthDateYear": "1850"}, ("birth_date", "date_out_of_range")),
        ({"CountryId": "ATLANTIS"}, ("country", "unknown_country")),
        ({"ZipCode": "750011"}, ("postal_code", "invalid_postal_code")),
        ({"UserDefinedText1": "GOLD"}, ("tier", "unknown_tier")),
        ({"LanguageId": "XX"}, ("preferred_language", "unknown_language")),
        ({"CreationDate": "32/13/2025"}, ("created_at", "invalid_timestamp")),
        ({"Closed": "peut-être"}, ("closed", "invalid_boolean")),
    ],
)
def test_customer_optional_problems_are_issues(
    values: dict[str, str], issue: tuple[str, str]
) -> None:
    result = mapping.CUSTOMERS.map(customer_row(**values), CTX)
    assert result.facts is not None
    assert issue in _codes(result)
    fields = {
        "birth_date": result.facts.birth_date,
        "country": result.facts.country,
        "postal_code": result.facts.postal_code,
        "tier": result.facts.tier,
        "preferred_language": result.facts.preferred_language,
        "created_at": result.facts.created_at,
        "closed": result.facts.closed or None,
    }
    assert fields[issue[0]] is None


def test_customer_unknown_country_falls_back_to_the_store_for_the_phone() -> None:
    row = customer_row(CountryId="ATLANTIS", ZipCode="")
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).phone == "+33612345678"


@pytest.mark.parametrize(
    ("raw", "tier"),
    [("STANDARD", "standard"), ("PREMIUM", "premium"), ("VIP", "vip"), ("vip", "vip"), ("", None)],
)
def test_customer_tier(raw: str, tier: str | None) -> None:
    assert _facts(mapping.CUSTOMERS.map(customer_row(UserDefinedText1=raw), CTX)).tier == tier


@pytest.mark.parametrize(
    ("raw", "language"), [("FR", "fr"), ("EN", "en"), ("ja", "ja"), ("ZH", "zh"), ("FRA", "fr")]
)
def test_customer_language(raw: str, language: str) -> None:
    row = customer_row(LanguageId=raw)
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).preferred_language == language


def test_customer_address_line3_joins_line2() -> None:
    row = customer_row(AddressLine2="Bâtiment B", AddressLine3="Escalier 3")
    assert _facts(mapping.CUSTOMERS.map(row, CTX)).address_line2 == "Bâtiment B, Escalier 3"
    only3 = customer_row(AddressLine3="Escalier 3")
    assert _facts(mapping.CUSTOMERS.map(only3, CTX)).address_line2 == "Escalier 3"


@pytest.mark.parametrize(
    ("values", "created_at"),
    [
        # Summer in Paris is UTC+2, winter UTC+1: the store's zone, not a fixed offset.
        ({"CreationStoreId": "PAR01"}, _utc(2025, 7, 15, 12)),
        (
            {"CreationStoreId": "PAR01", "CreationDate": "15/01/2025 14:00:00"},
            _utc(2025, 1, 15, 13),
        ),
        # The creation store's zone wins over the usual store's.
        ({"CreationStoreId": "TYO01", "UsualStoreId": "PAR01"}, _utc(2025, 7, 15, 5)),
        ({"CreationStoreId": "", "UsualStoreId": "NYC01"}, _utc(2025, 7, 15, 18)),
        # An unknown store: the back office's zone (Paris).
        ({"CreationStoreId": "ZZZ99", "UsualStoreId": ""}, _utc(2025, 7, 15, 12)),
    ],
)
def test_customer_timestamps_are_store_local(values: dict[str, str], created_at: datetime) -> None:
    row = customer_row(LastModificationDate="", **values)
    customer = _facts(mapping.CUSTOMERS.map(row, CTX))
    assert customer.created_at == created_at
    # No modification date: the creation is the latest thing known.
    assert customer.observed_at == created_at


def test_customer_consents_are_raw_statements_with_proof() -> None:
    row = customer_row(
        OptinEmail="BrandOnly", OptinMobile="DoNotUse", OptinPostal="", OptinHomePhone="AskCustomer"
    )
    customer = _facts(mapping.CUSTOMERS.map(row, CTX))
    by_purpose = {consent.purpose: consent for consent in customer.consents}
    assert set(by_purpose) == {"email_marketing", "sms_marketing", "phone_calls"}
    assert by_purpose["email_marketing"].raw_value == "BrandOnly"
    assert by_purpose["sms_marketing"].raw_value == "DoNotUse"
    assert by_purpose["phone_calls"].raw_value == "AskCustomer"
    email = by_purpose["email_marketing"]
    assert email.stated_at == customer.observed_at
    assert email.opt_in_level is None
    assert email.proof == {
        "source": "cegid",
        "field": "OptinEmail",
        "store_id": "PAR01",
        "associate_id": "S0042",
    }
    assert by_purpose["sms_marketing"].proof["field"] == "OptinMobile"


def test_customer_consent_proof_uses_the_creation_store_without_a_usual_store() -> None:
    row = customer_row(UsualStoreId="", CreationStoreId="TYO01", OptinPostal="ForPartners")
    consents = _facts(mapping.CUSTOMERS.map(row, CTX)).consents
    assert {consent.purpose for consent in consents} == {"email_marketing", "postal_mail"}
    assert all(consent.proof["store_id"] == "TYO01" for consent in consents)


def test_customer_unknown_optin_value_is_an_issue_and_still_recorded() -> None:
    result = mapping.CUSTOMERS.map(customer_row(OptinEmail="Oui"), CTX)
    consents = _facts(result).consents
    assert [(consent.purpose, consent.raw_value) for consent in consents] == [
        ("email_marketing", "Oui")
    ]
    assert _codes(result) == {("consent.email_marketing", "unknown_consent_value")}


def test_customer_closed() -> None:
    assert _facts(mapping.CUSTOMERS.map(customer_row(Closed="1"), CTX)).closed is True


# --- receipts, lines, payments ----------------------------------------------------


def test_receipt_maps_a_store_sale() -> None:
    result = mapping.RECEIPTS.map(receipt_row(), CTX)
    order = _facts(result)
    assert result.issues == ()
    assert (order.source_system, order.source_order_id, order.channel) == (
        "cegid",
        "PAR01-000123",
        "store",
    )
    assert (order.customer_source_id, order.store_id, order.associate_id) == (
        "PAR01000123",
        "PAR01",
        "S0042",
    )
    assert (order.total_cents, order.currency, order.status) == (25980, "EUR", "completed")
    assert order.lines == ()
    assert order.payments == ()


@pytest.mark.parametrize(
    ("store", "date", "ordered_at"),
    [
        ("PAR01", "15/07/2025 14:00:00", _utc(2025, 7, 15, 12)),  # CEST, UTC+2
        ("PAR01", "15/12/2025 14:00:00", _utc(2025, 12, 15, 13)),  # CET, UTC+1
        ("PAR01", "26/10/2025 01:30:00", _utc(2025, 10, 25, 23, 30)),  # just before the change
        ("PAR01", "26/10/2025 03:30:00", _utc(2025, 10, 26, 2, 30)),  # just after it
        ("TYO01", "15/07/2025 14:00:00", _utc(2025, 7, 15, 5)),  # JST, UTC+9, no DST
        ("TYO01", "15/12/2025 14:00:00", _utc(2025, 12, 15, 5)),
        ("NYC01", "15/07/2025 14:00:00", _utc(2025, 7, 15, 18)),  # EDT, UTC-4
    ],
)
def test_receipt_date_is_store_local_time(store: str, date: str, ordered_at: datetime) -> None:
    row = receipt_row(StoreId=store, Date=date)
    assert _facts(mapping.RECEIPTS.map(row, CTX)).ordered_at == ordered_at


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"Status": "None"}, "completed"),
        ({"Status": ""}, "completed"),
        ({"Status": "Delivered"}, "completed"),
        ({"Status": "InProgress"}, "pending"),
        ({"Status": "Canceled"}, "cancelled"),
        ({"Status": "Recovered"}, "recovered"),
        ({"Type": "ReturnNotice"}, "returned"),
        ({"Type": "CustomerOrder", "Status": "InProgress"}, "pending"),
        ({"Active": "0"}, "cancelled"),
        ({"Active": "0", "Type": "ReturnNotice"}, "cancelled"),
    ],
)
def test_receipt_status(values: dict[str, str], status: str) -> None:
    assert _facts(mapping.RECEIPTS.map(receipt_row(**values), CTX)).status == status


def test_anonymous_receipt_has_no_customer() -> None:
    order = _facts(mapping.RECEIPTS.map(receipt_row(CustomerId=""), CTX))
    assert order.customer_source_id is None


def test_return_receipt_has_a_negative_total() -> None:
    row = receipt_row(Type="ReturnNotice", TaxIncludedTotalAmount="-129,90")
    order = _facts(mapping.RECEIPTS.map(row, CTX))
    assert (order.total_cents, order.status) == (-12990, "returned")


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"StoreId": "ZZZ99"}, ("store_id", "unknown_store")),
        ({"StoreId": ""}, ("store_id", "missing_value")),
        ({"Date": ""}, ("ordered_at", "missing_value")),
        ({"Date": "31/02/2025 10:00:00"}, ("ordered_at", "invalid_timestamp")),
        ({"Date": "hier"}, ("ordered_at", "invalid_timestamp")),
        ({"TaxIncludedTotalAmount": ""}, ("total", "missing_value")),
        ({"TaxIncludedTotalAmount": "12,9,0"}, ("total", "invalid_amount")),
        ({"CurrencyId": ""}, ("currency", "missing_value")),
        ({"CurrencyId": "E"}, ("currency", "invalid_currency")),
        ({"Number": ""}, ("id", "missing_id")),
    ],
)
def test_receipt_rejects(values: dict[str, str], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.RECEIPTS.map(receipt_row(**values), CTX)) == reason


def test_receipt_line_with_discount() -> None:
    result = mapping.RECEIPT_LINES.map(line_row(), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert facts.order_source_id == "PAR01-000123"
    line = facts.line
    assert (line.line_number, line.sku, line.label) == (1, "UKS001.018-430", "Pull Ami de Coeur")
    assert (line.quantity, line.unit_price_cents) == (2, 12990)
    assert line.discount_cents == (12990 - 11691) * 2


def test_returned_line_gives_its_discount_back() -> None:
    line = _facts(mapping.RECEIPT_LINES.map(line_row(Quantity="-1"), CTX)).line
    assert (line.quantity, line.discount_cents) == (-1, -(12990 - 11691))


def test_line_without_net_price_has_no_discount() -> None:
    line = _facts(mapping.RECEIPT_LINES.map(line_row(TaxIncludedNetUnitPrice=""), CTX)).line
    assert line.discount_cents == 0


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Quantity": ""}, ("quantity", "missing_value")),
        ({"Quantity": "deux"}, ("quantity", "invalid_integer")),
        ({"Quantity": "99999999999"}, ("quantity", "out_of_range")),
        ({"TaxIncludedUnitPrice": "abc"}, ("unit_price", "invalid_amount")),
        ({"TaxIncludedUnitPrice": ""}, ("unit_price", "missing_value")),
        ({"Rank": "1b"}, ("line_number", "invalid_integer")),
        ({"Rank": ""}, ("id", "missing_id")),
    ],
)
def test_receipt_line_rejects(values: dict[str, str], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.RECEIPT_LINES.map(line_row(**values), CTX)) == reason


def test_line_bad_net_price_is_an_issue() -> None:
    result = mapping.RECEIPT_LINES.map(line_row(TaxIncludedNetUnitPrice="n/a"), CTX)
    assert _facts(result).line.discount_cents == 0
    assert _codes(result) == {("net_unit_price", "invalid_amount")}


def test_receipt_payment() -> None:
    result = mapping.RECEIPT_PAYMENTS.map(payment_row(), CTX)
    facts = _facts(result)
    assert result.issues == ()
    assert facts.order_source_id == "PAR01-000123"
    payment = facts.payment
    assert (payment.payment_number, payment.method, payment.amount_cents) == (1, "CB", 25980)
    assert payment.status == "received"
    # The payment row names no store: Paris, the default zone of the context.
    assert payment.paid_at == _utc(2025, 7, 15, 12)


@pytest.mark.parametrize(
    ("values", "method", "status"),
    [
        ({"Code": "", "Label": "Avoir"}, "Avoir", "received"),
        ({"Code": "", "Label": ""}, "unknown", "received"),
        ({"IsReceivedPayment": "0"}, "CB", "pending"),
        ({"IsReceivedPayment": ""}, "CB", "pending"),
    ],
)
def test_receipt_payment_method_and_status(
    values: dict[str, str], method: str, status: str
) -> None:
    payment = _facts(mapping.RECEIPT_PAYMENTS.map(payment_row(**values), CTX)).payment
    assert (payment.method, payment.status) == (method, status)


def test_receipt_payment_uses_the_context_default_timezone() -> None:
    tokyo = MappingContext(_store_timezone, _store_country, default_timezone="Asia/Tokyo")
    payment = _facts(mapping.RECEIPT_PAYMENTS.map(payment_row(), tokyo)).payment
    assert payment.paid_at == _utc(2025, 7, 15, 5)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Amount": ""}, ("amount", "missing_value")),
        ({"Amount": "beaucoup"}, ("amount", "invalid_amount")),
        ({"Rank": "x"}, ("payment_number", "invalid_integer")),
    ],
)
def test_receipt_payment_rejects(values: dict[str, str], reason: tuple[str, str]) -> None:
    assert _rejected(mapping.RECEIPT_PAYMENTS.map(payment_row(**values), CTX)) == reason


# --- robustness -------------------------------------------------------------------

_ANY_VALUE = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.lists(st.text()),
    st.dictionaries(st.text(), st.text()),
)


@pytest.mark.parametrize(
    ("mapper", "columns"), [(mapper, columns) for mapper, columns, _ in MAPPERS]
)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_row_maps_or_rejects_without_raising(
    mapper: RowMapper[Any], columns: tuple[str, ...], data: st.DataObject
) -> None:
    row = data.draw(st.dictionaries(st.sampled_from(columns), _ANY_VALUE))
    result = mapper.map(row, CTX)
    assert (result.facts is None) != (result.reject is None)
    # Keying a row must not raise either.
    mapper.key(row)


@pytest.mark.parametrize(
    ("mapper", "columns"), [(mapper, columns) for mapper, columns, _ in MAPPERS]
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_text_row_maps_or_rejects_without_raising(
    mapper: RowMapper[Any], columns: tuple[str, ...], data: st.DataObject
) -> None:
    row = data.draw(st.fixed_dictionaries({column: st.text(max_size=30) for column in columns}))
    result = mapper.map(row, CTX)
    assert (result.facts is None) != (result.reject is None)

"""Y2's SOAP answers to the rows of its CSV exports, so that one mapper reads both.

The web services answer typed values (``xs:dateTime`` without offset, that
is the store's local time; ``xs:decimal``; ``xs:boolean``); the exports write
text (``dd/mm/yyyy HH:MM:SS``, decimal comma, ``1``/``0``). Each function here
turns one answer into the row ``mapping.py`` reads for customers.csv,
receipts.csv, receipt_lines.csv or receipt_payments.csv (``docs/formats.md``),
every value a string and an absent one empty, as the CSV reader gives them:
the same mapping, rejects and validation then serve both paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Row = dict[str, str]

_OPTINS = ("OptinEmail", "OptinMobile", "OptinPostal", "OptinHomePhone")
# UserDefinedTexts' Id 1 is the loyalty tier (customers.csv's UserDefinedText1).
_TIER_TEXT_ID = 1


def text(value: Any) -> str:  # noqa: PLR0911 - one return per kind of SOAP value
    """Return a SOAP value as export text: empty for none, dates dd/mm/yyyy, 1/0, decimal comma."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        # Y2 sends local wall-clock times; an offset, if any, is not a conversion to make.
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal | float):
        number = Decimal(str(value)) if isinstance(value, float) else value
        if number == number.to_integral_value():
            return str(int(number))
        return format(number, "f").replace(".", ",")
    return str(value).strip()


def _part(data: Mapping[str, Any] | None, name: str) -> Any:
    return None if data is None else data.get(name)


def _user_text(data: Mapping[str, Any], text_id: int) -> Any:
    texts = data.get("UserDefinedTexts") or {}
    items = texts.get("UserDefinedText") if isinstance(texts, Mapping) else texts
    for item in items or []:
        if item is not None and item.get("Id") == text_id:
            return item.get("Value")
    return None


def customer_row(data: Mapping[str, Any]) -> Row:
    """Return a customers.csv row from a CustomerQueryData (GetCustomerDetail)."""
    email = data.get("EmailData")
    phone = data.get("PhoneData")
    address = data.get("AddressData")
    birth = data.get("BirthDateData")
    values: dict[str, Any] = {
        "CustomerId": data.get("CustomerId"),
        "TitleId": data.get("TitleId"),
        "FirstName": data.get("FirstName"),
        "LastName": data.get("LastName"),
        "BirthDateDay": _part(birth, "BirthDateDay"),
        "BirthDateMonth": _part(birth, "BirthDateMonth"),
        "BirthDateYear": _part(birth, "BirthDateYear"),
        "Email": _part(email, "Email"),
        "AlternativeEmail": _part(email, "AlternativeEmail"),
        "CellularPhoneNumber": _part(phone, "CellularPhoneNumber"),
        "HomePhoneNumber": _part(phone, "HomePhoneNumber"),
        "AddressLine1": _part(address, "AddressLine1"),
        "AddressLine2": _part(address, "AddressLine2"),
        "AddressLine3": _part(address, "AddressLine3"),
        "ZipCode": _part(address, "ZipCode"),
        "City": _part(address, "City"),
        "RegionId": _part(address, "RegionId"),
        "CountryId": _part(address, "CountryId"),
        "LanguageId": data.get("LanguageId"),
        "UsualStoreId": data.get("UsualStoreId"),
        "CreationStoreId": data.get("CreationStoreId"),
        "SalesPersonId": data.get("SalesPersonId"),
        "IsProspect": data.get("IsProspect"),
        **{column: data.get(column) for column in _OPTINS},
        "UserDefinedText1": _user_text(data, _TIER_TEXT_ID),
        # The services give no creation date; the last change is the record's version.
        "LastModificationDate": data.get("LastModificationDate") or data.get("LastDateUpdate"),
        "Closed": data.get("Closed"),
    }
    return {column: text(value) for column, value in values.items()}


def receipt_row(header: Mapping[str, Any]) -> Row:
    """Return a receipts.csv row from a Get_Header."""
    key = header.get("Key") or {}
    values: dict[str, Any] = {
        "Stump": key.get("Stump"),
        "Number": key.get("Number"),
        "Type": key.get("Type"),
        "Date": header.get("Date"),
        "StoreId": header.get("StoreId"),
        "CustomerId": header.get("CustomerId"),
        "SalesPersonId": header.get("SalesPersonId"),
        "CurrencyId": header.get("CurrencyId"),
        "TaxIncludedTotalAmount": header.get("TaxIncludedTotalAmount"),
        "TotalQuantity": header.get("TotalQuantity"),
        "Status": header.get("Status"),
        "Active": header.get("Active"),
    }
    return {column: text(value) for column, value in values.items()}


def line_rows(header: Mapping[str, Any], lines: list[Mapping[str, Any]]) -> list[Row]:
    """Return the receipt_lines.csv rows of a document's Get_Line list."""
    key = header.get("Key") or {}
    rows = []
    for position, line in enumerate(lines, start=1):
        rank = line.get("Rank")
        values: dict[str, Any] = {
            "Stump": key.get("Stump"),
            "Number": key.get("Number"),
            "Rank": position if rank is None else rank,
            "ItemCode": line.get("ItemCode"),
            "Label": line.get("Label"),
            "Quantity": line.get("Quantity"),
            "TaxIncludedUnitPrice": line.get("TaxIncludedUnitPrice"),
            "TaxIncludedNetUnitPrice": line.get("TaxIncludedNetUnitPrice"),
        }
        rows.append({column: text(value) for column, value in values.items()})
    return rows


def payment_rows(header: Mapping[str, Any], payments: list[Mapping[str, Any]]) -> list[Row]:
    """Return the receipt_payments.csv rows of a document's Get_Payment list (rank = position)."""
    key = header.get("Key") or {}
    rows = []
    for position, payment in enumerate(payments, start=1):
        values: dict[str, Any] = {
            "Stump": key.get("Stump"),
            "Number": key.get("Number"),
            "Rank": position,
            "Code": payment.get("Code"),
            "Label": payment.get("Label"),
            "Amount": payment.get("Amount"),
            "Currency": payment.get("Currency"),
            "DueDate": payment.get("DueDate"),
            "IsReceivedPayment": payment.get("IsReceivedPayment"),
        }
        rows.append({column: text(value) for column, value in values.items()})
    return rows


__all__ = ["Row", "customer_row", "line_rows", "payment_rows", "receipt_row", "text"]

"""Birth dates, dates from parts, and timestamps from every source."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from amigo.quality import Normalized, birth_date_from_parts, parse_date, parse_timestamp

TODAY = date(2025, 7, 10)


@pytest.mark.parametrize(
    "raw",
    [
        "1990-05-12",
        "12/05/1990",
        "12.05.1990",
        "12-05-1990",
        "1990/05/12",
        "1990.05.12",
        "19900512",
        "12/5/1990",
        " 1990-05-12 ",
        "1990-05-12T00:00:00",
        "1990-05-12T00:00:00+02:00",  # the date as written, not moved to UTC
        "1990-05-12T23:30:00-05:00",
        "1990-05-12T10:00:00Z",
        "1990-05-12 10:00:00",
        "12/05/1990 00:00:00",  # Cegid writes dates with a time
        "12/05/1990 00:00",
    ],
)
def test_dates(raw: str) -> None:
    assert parse_date(raw, today=TODAY) == Normalized(date(1990, 5, 12), None)


def test_month_first_when_told() -> None:
    assert parse_date("05/12/1990", day_first=False, today=TODAY).value == date(1990, 5, 12)
    assert parse_date("05/12/1990", today=TODAY).value == date(1990, 12, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "31/02/1990",  # does not exist
        "29/02/1991",
        "12/05/90",  # two-digit year: not guessed
        "1990-05",  # missing day: never filled in from today
        "05/1990",
        "1990",
        "12 mai 1990",
        "yesterday",
        "1720627547",  # an epoch is a timestamp, not a birth date
        "1990-13-01",
        "00/00/0000",
        "1990-05-12T25:00:00",
        "x" * 1000,
    ],
)
def test_invalid_dates(raw: str) -> None:
    result = parse_date(raw, field="birth_date", today=TODAY)
    assert result.value is None
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("birth_date", "invalid_date")


@pytest.mark.parametrize("raw", ["1899-12-31", "01/01/0001", "2025-07-11", "2999-01-01"])
def test_dates_out_of_range(raw: str) -> None:
    result = parse_date(raw, today=TODAY)
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "date_out_of_range"


def test_range_bounds_are_inclusive() -> None:
    assert parse_date("1900-01-01", today=TODAY).value == date(1900, 1, 1)
    assert parse_date("2025-07-10", today=TODAY).value == TODAY


def test_today_defaults_to_the_utc_clock() -> None:
    assert parse_date("2000-01-01").value == date(2000, 1, 1)
    assert parse_date("2999-01-01").value is None


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_empty_dates(raw: str | None) -> None:
    assert parse_date(raw) == Normalized(None, None)


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("12", "5", "1990", date(1990, 5, 12)),
        ("12", "05", "1990", date(1990, 5, 12)),
        (" 1 ", " 1 ", " 2000 ", date(2000, 1, 1)),
        ("29", "2", "2000", date(2000, 2, 29)),
    ],
)
def test_birth_date_from_parts(day: str, month: str, year: str, expected: date) -> None:
    assert birth_date_from_parts(day, month, year, today=TODAY) == Normalized(expected, None)


@pytest.mark.parametrize(
    ("day", "month", "year"), [(None, None, None), ("", "", ""), (" ", None, "")]
)
def test_birth_date_from_no_parts(day: str | None, month: str | None, year: str | None) -> None:
    assert birth_date_from_parts(day, month, year) == Normalized(None, None)


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [
        ("12", "5", None),  # partial: no year
        (None, "5", "1990"),
        ("12", "", "1990"),
        ("31", "2", "1990"),  # impossible
        ("29", "2", "1900"),
        ("12", "5", "90"),  # two-digit year
        ("12", "5", "990"),
        ("12", "mai", "1990"),
        ("0", "5", "1990"),
        ("12", "13", "1990"),
        ("123", "5", "1990"),
        ("١٢", "5", "1990"),  # Arabic-Indic digits
    ],
)
def test_invalid_birth_date_parts(day: str | None, month: str | None, year: str | None) -> None:
    result = birth_date_from_parts(day, month, year, field="birth_date")
    assert result.value is None
    assert result.issue is not None
    assert result.issue.code == "invalid_date"


def test_birth_date_parts_out_of_range() -> None:
    result = birth_date_from_parts("1", "1", "1850", today=TODAY)
    assert result.issue is not None
    assert result.issue.code == "date_out_of_range"
    assert birth_date_from_parts("11", "7", "2025", today=TODAY).issue is not None


# Timestamps -------------------------------------------------------------------------


def _utc(text: str) -> datetime:
    """Return the UTC instant written as ISO 8601 without offset."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-12-31T19:00:00-05:00", _utc("2022-01-01 00:00:00")),  # Shopify
        ("2025-07-10T16:15:47.000000Z", _utc("2025-07-10 16:15:47")),
        ("2025-07-10T16:15:47Z", _utc("2025-07-10 16:15:47")),
        ("2025-07-10T16:15:47.123+02:00", _utc("2025-07-10 14:15:47.123000")),
        ("2025-07-10T16:15:47", _utc("2025-07-10 14:15:47")),  # naive: Paris time
        ("2025-07-10 16:15:47", _utc("2025-07-10 14:15:47")),
        ("2025-07-10", _utc("2025-07-09 22:00:00")),
        ("31/12/2021 19:00:00", _utc("2021-12-31 18:00:00")),  # Cegid, winter
        ("10/07/2025 16:15:47", _utc("2025-07-10 14:15:47")),  # summer
        ("31/12/2021 19:00", _utc("2021-12-31 18:00:00")),
        ("31/12/2021", _utc("2021-12-30 23:00:00")),
        ("31.12.2021 19:00:00", _utc("2021-12-31 18:00:00")),
        ("2021/12/31 19:00:00", _utc("2021-12-31 18:00:00")),
        ("20211231", _utc("2021-12-30 23:00:00")),
        ("1720627547", _utc("2024-07-10 16:05:47")),  # epoch seconds are UTC
        ("1720627547123", _utc("2024-07-10 16:05:47.123000")),  # milliseconds
        ("1720627547.5", _utc("2024-07-10 16:05:47.500000")),
        (" 2025-07-10T16:15:47Z ", _utc("2025-07-10 16:15:47")),
    ],
)
def test_timestamps(raw: str, expected: datetime) -> None:
    result = parse_timestamp(raw, default_tz="Europe/Paris")
    assert result == Normalized(expected, None)
    assert result.value is not None
    assert result.value.tzinfo is UTC


def test_default_zone_is_utc_and_accepts_zoneinfo() -> None:
    assert parse_timestamp("2025-07-10T16:15:47").value == _utc("2025-07-10 16:15:47")
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_timestamp("10/07/2025 09:00", default_tz=tokyo).value == _utc(
        "2025-07-10 00:00:00"
    )


def test_month_first_timestamps() -> None:
    result = parse_timestamp("12/31/2021 19:00", default_tz="UTC", day_first=False)
    assert result.value == _utc("2021-12-31 19:00:00")


def test_dst_gap_is_read_with_the_offset_before_the_change() -> None:
    # 02:30 never happened in Paris on 2024-03-31; fold=0 reads it at +01:00.
    result = parse_timestamp("31/03/2024 02:30", default_tz="Europe/Paris")
    assert result == Normalized(_utc("2024-03-31 01:30:00"), None)


def test_dst_overlap_takes_the_first_occurrence() -> None:
    # 02:30 happened twice in Paris on 2024-10-27; fold=0 is the first, at +02:00.
    result = parse_timestamp("27/10/2024 02:30", default_tz="Europe/Paris")
    assert result == Normalized(_utc("2024-10-27 00:30:00"), None)


def test_aware_values_ignore_the_default_zone() -> None:
    raw = "2021-12-31T19:00:00-05:00"
    assert (
        parse_timestamp(raw, default_tz="Asia/Tokyo").value
        == parse_timestamp(raw, default_tz="UTC").value
    )


@pytest.mark.parametrize(
    "raw",
    [
        "nope",
        "31/02/2021 10:00",
        "2021-12-31T25:00:00",
        "12/31/21",
        "0001-01-01T00:00:00+01:00",  # falls off the calendar in UTC
        "9999-12-31T23:59:59-01:00",
        "123",
        "1" * 30,
        "2021-12-31T19:00:00 garbage",
    ],
)
def test_invalid_timestamps(raw: str) -> None:
    result = parse_timestamp(raw, default_tz="Europe/Paris", field="created_at")
    assert result.value is None
    assert result.issue is not None
    assert (result.issue.field, result.issue.code) == ("created_at", "invalid_timestamp")


@pytest.mark.parametrize("zone", ["Nowhere/Land", "", "../../etc/passwd"])
def test_unknown_zone_is_an_issue_not_an_exception(zone: str) -> None:
    result = parse_timestamp("2021-12-31 10:00", default_tz=zone)
    assert result.issue is not None
    assert result.issue.code == "invalid_timezone"


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_empty_timestamps(raw: str | None) -> None:
    assert parse_timestamp(raw) == Normalized(None, None)

"""Dates and timestamps from every source format, never guessing a missing part."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache

from amigo.core.clock import utcnow
from amigo.quality.issues import EMPTY, Normalized, make_issue

MIN_DATE = date(1900, 1, 1)

# Date-only layouts. Separators are / . or -; day-first unless told otherwise.
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
# A date followed by a time, as Cegid writes it: "31/12/2021 19:00:00", "31/12/2021 19:00".
_DMY_TIME = re.compile(
    r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
)
_YMD_TIME = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
)
# Epoch values: seconds (optionally fractional) around now, or milliseconds.
_EPOCH_SECONDS = re.compile(r"-?\d{9,11}(?:\.\d{1,6})?")
_EPOCH_MILLIS = re.compile(r"-?\d{12,14}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _today_utc() -> date:
    """Return today's date in UTC, from the one clock tests can pin."""
    return utcnow().date()


def _make_date(year: int, month: int, day: int) -> date | None:
    """Return the date, or None when it does not exist (31/02)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_from_text(text: str, day_first: bool) -> date | None:
    """Return the calendar date written in text, or None when no known layout matches."""
    if (match := _YMD.fullmatch(text)) is not None:
        return _make_date(int(match[1]), int(match[3]), int(match[4]))
    if (match := _DMY.fullmatch(text)) is not None:
        first, second = int(match[1]), int(match[3])
        day, month = (first, second) if day_first else (second, first)
        return _make_date(int(match[4]), month, day)
    if (match := _COMPACT.fullmatch(text)) is not None:
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if ":" not in text:
        return None  # digits alone are an epoch for timestamps, never a birth date
    # A timestamp: the date as written, not moved to UTC (a birth date stored as
    # local midnight must stay that day).
    parsed = _parse_naive_or_aware(text, day_first)
    return None if parsed is None else parsed.date()


def _check_range(parsed: date, raw: str, field: str, today: date | None) -> Normalized[date]:
    """Return parsed if it lies between 1900-01-01 and today, else a date_out_of_range issue."""
    upper = today if today is not None else _today_utc()
    if MIN_DATE <= parsed <= upper:
        return Normalized(parsed, None)
    return make_issue(
        field,
        "date_out_of_range",
        f"{{value}} is not between {MIN_DATE.isoformat()} and {upper.isoformat()}.",
        raw,
    )


def parse_date(
    raw: str | None,
    *,
    field: str = "birth_date",
    day_first: bool = True,
    today: date | None = None,
) -> Normalized[date]:
    """Return the date written in raw, checked to lie between 1900-01-01 and today."""
    if raw is None:
        return EMPTY
    text = raw.strip()
    if not text:
        return EMPTY
    parsed = _date_from_text(text, day_first) if len(text) <= 40 else None
    if parsed is None:
        return make_issue(field, "invalid_date", "{value} is not a date.", raw)
    return _check_range(parsed, raw, field, today)


def birth_date_from_parts(
    day: str | None,
    month: str | None,
    year: str | None,
    *,
    field: str = "birth_date",
    today: date | None = None,
) -> Normalized[date]:
    """Return the date from separate day, month and year fields, all or nothing."""
    parts = [(part or "").strip() for part in (day, month, year)]
    if not any(parts):
        return EMPTY
    shown = "/".join(parts)
    day_text, month_text, year_text = parts
    if not all(part.isascii() and part.isdigit() for part in parts):
        return make_issue(
            field, "invalid_date", "{value} (day/month/year) is not a complete date.", shown
        )
    if len(year_text) != 4 or len(day_text) > 2 or len(month_text) > 2:
        # A two-digit year could be 1924 or 2024: refuse to guess.
        return make_issue(
            field, "invalid_date", "{value} (day/month/year) needs a four-digit year.", shown
        )
    parsed = _make_date(int(year_text), int(month_text), int(day_text))
    if parsed is None:
        return make_issue(field, "invalid_date", "{value} (day/month/year) does not exist.", shown)
    return _check_range(parsed, shown, field, today)


# Timestamps -----------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(key: str) -> zoneinfo.ZoneInfo | None:
    """Return the IANA time zone named key, or None when there is no such zone."""
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _naive_from_match(match: re.Match[str], day_first: bool, year_first: bool) -> datetime | None:
    """Return the naive datetime of a _DMY_TIME or _YMD_TIME match, or None if impossible."""
    if year_first:
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    else:
        first, second = int(match[1]), int(match[3])
        day, month = (first, second) if day_first else (second, first)
        year = int(match[4])
    hour = int(match[5] or 0)
    minute = int(match[6] or 0)
    second_ = int(match[7] or 0)
    micro = int((match[8] or "0").ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second_, micro)  # noqa: DTZ001 - zoned by the caller
    except ValueError:
        return None


def _parse_naive_or_aware(text: str, day_first: bool) -> datetime | None:
    """Return the datetime in text, naive when text carries no offset, or None."""
    # Fast path: ISO 8601 (Shopify, our own exports) is what most rows carry.
    if len(text) >= 10 and text[4:5] == "-":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    if (match := _DMY_TIME.fullmatch(text)) is not None:
        return _naive_from_match(match, day_first, year_first=False)
    if (match := _YMD_TIME.fullmatch(text)) is not None:
        return _naive_from_match(match, day_first, year_first=True)
    return _parse_compact_or_epoch(text)


def _parse_compact_or_epoch(text: str) -> datetime | None:
    """Return the datetime of "YYYYMMDD" (naive) or of epoch seconds or milliseconds (UTC)."""
    if (match := _COMPACT.fullmatch(text)) is not None:
        parsed = _make_date(int(match[1]), int(match[2]), int(match[3]))
        if parsed is None:
            return None
        return datetime(parsed.year, parsed.month, parsed.day)  # noqa: DTZ001 - zoned by the caller
    if _EPOCH_SECONDS.fullmatch(text) is not None:
        return _EPOCH + timedelta(seconds=float(text))
    if _EPOCH_MILLIS.fullmatch(text) is not None:
        return _EPOCH + timedelta(milliseconds=int(text))
    return None


def parse_timestamp(
    raw: str | None,
    *,
    default_tz: str | tzinfo = "UTC",
    field: str = "timestamp",
    day_first: bool = True,
) -> Normalized[datetime]:
    """Return the instant in raw as an aware UTC datetime, reading naive values in default_tz."""
    if raw is None:
        return EMPTY
    text = raw.strip()
    if not text:
        return EMPTY
    if isinstance(default_tz, tzinfo):  # a ZoneInfo, or datetime.UTC
        zone: tzinfo | None = default_tz
    else:
        zone = _zone(default_tz) if len(default_tz) <= 64 else None
    if zone is None:
        return make_issue(
            field,
            "invalid_timezone",
            f"{{value}} cannot be placed in time: {str(default_tz)[:60]!r} is not a time zone.",
            raw,
        )
    try:
        parsed = _parse_naive_or_aware(text, day_first) if len(text) <= 64 else None
        if parsed is None:
            return make_issue(field, "invalid_timestamp", "{value} is not a timestamp.", raw)
        if parsed.tzinfo is None:
            # replace() keeps fold=0: in a DST gap or overlap zoneinfo then uses the
            # offset in force before the change, and never raises.
            parsed = parsed.replace(tzinfo=zone)
        return Normalized(parsed.astimezone(UTC), None)
    except (OverflowError, ValueError):
        # Year 1 or 9999 moved across an offset falls off the calendar.
        return make_issue(field, "invalid_timestamp", "{value} is out of the calendar.", raw)

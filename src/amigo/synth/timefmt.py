"""Fast, wall-clock-free time arithmetic and formatting for the generator.

Every instant is an integer count of UTC seconds since the epoch. Formatting
goes through per-day caches because `datetime.strftime` and `ZoneInfo` lookups
per record would dominate the run time at 1.2 M customers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

DAY = 86_400

# All data is relative to this instant, never to today: same seed, same bytes.
REFERENCE = datetime(2026, 11, 1, tzinfo=UTC)
REF_TS = int(REFERENCE.timestamp())
CEGID_START_TS = int(datetime(2016, 1, 1, tzinfo=UTC).timestamp())
SHOPIFY_START_TS = int(datetime(2018, 3, 1, tzinfo=UTC).timestamp())
WEBFORMS_START_TS = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
# The exported order and interaction history starts with the FW23 season.
HISTORY_START_TS = int(datetime(2023, 7, 1, tzinfo=UTC).timestamp())

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_ISO_DATE: dict[int, str] = {}
_DMY_DATE: dict[int, str] = {}
_ZONES: dict[str, ZoneInfo] = {}
# (zone, utc day) -> (offset seconds at 00:00 UTC, offset seconds at 23:59:59 UTC)
_OFFSETS: dict[tuple[str, int], tuple[int, int]] = {}
_OFFSET_TEXT: dict[int, str] = {}


def iso_date(day: int) -> str:
    """Return YYYY-MM-DD for a day number (days since 1970-01-01)."""
    text = _ISO_DATE.get(day)
    if text is None:
        text = date.fromordinal(day + _EPOCH_ORDINAL).isoformat()
        _ISO_DATE[day] = text
    return text


def dmy_date(day: int) -> str:
    """Return dd/mm/yyyy for a day number."""
    text = _DMY_DATE.get(day)
    if text is None:
        iso = iso_date(day)
        text = f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"
        _DMY_DATE[day] = text
    return text


def day_of(year: int, month: int, dom: int) -> int:
    """Return the day number of a calendar date."""
    return date(year, month, dom).toordinal() - _EPOCH_ORDINAL


def year_of(ts: int) -> int:
    """Return the UTC calendar year of an instant."""
    return int(iso_date(ts // DAY)[:4])


def zone(name: str) -> ZoneInfo:
    """Return the cached ZoneInfo for an IANA name."""
    tz = _ZONES.get(name)
    if tz is None:
        tz = ZoneInfo(name)
        _ZONES[name] = tz
    return tz


def _offset_at(name: str, ts: int) -> int:
    delta = datetime.fromtimestamp(ts, tz=zone(name)).utcoffset()
    return 0 if delta is None else int(delta.total_seconds())


def utc_offset(name: str, ts: int) -> int:
    """Return the UTC offset in seconds of zone `name` at instant `ts`."""
    day = ts // DAY
    key = (name, day)
    pair = _OFFSETS.get(key)
    if pair is None:
        pair = (_offset_at(name, day * DAY), _offset_at(name, day * DAY + DAY - 1))
        _OFFSETS[key] = pair
    if pair[0] == pair[1]:
        return pair[0]
    # A DST transition happens this day: look the exact instant up.
    return _offset_at(name, ts)


def _offset_text(offset: int) -> str:
    text = _OFFSET_TEXT.get(offset)
    if text is None:
        sign = "+" if offset >= 0 else "-"
        minutes = abs(offset) // 60
        text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        _OFFSET_TEXT[offset] = text
    return text


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def iso_utc(ts: int) -> str:
    """Return an ISO 8601 UTC timestamp with a +00:00 offset."""
    return f"{iso_date(ts // DAY)}T{_clock(ts % DAY)}+00:00"


def iso_local(ts: int, zone_name: str) -> str:
    """Return an ISO 8601 timestamp in the zone's local time with its offset."""
    offset = utc_offset(zone_name, ts)
    local = ts + offset
    return f"{iso_date(local // DAY)}T{_clock(local % DAY)}{_offset_text(offset)}"


def cegid_local(ts: int, zone_name: str) -> str:
    """Return a Y2 store-local timestamp, dd/mm/yyyy HH:MM:SS."""
    local = ts + utc_offset(zone_name, ts)
    return f"{dmy_date(local // DAY)} {_clock(local % DAY)}"


def local_instant(day: int, seconds: int, zone_name: str) -> int:
    """Return the UTC instant of local wall time `seconds` on local `day` in a zone."""
    guess = day * DAY + seconds
    return guess - utc_offset(zone_name, guess - utc_offset(zone_name, guess))


def daytime(ts: int, fraction: float, zone_name: str) -> int:
    """Move `ts` to a waking hour (08:00 + fraction of 16 h) of its day in a zone."""
    return local_instant(ts // DAY, 8 * 3600 + int(fraction * 16 * 3600), zone_name)

"""Time as the project writes and reads it: one UTC timestamp format (`2026-12-01T17:46:07Z`, sortable as
text, which the store's range queries rely on), ISO days, and the spans people type (`30d`, `12h`).

Parsing errors are ValueError with a message a person can act on; the CLI turns them into exit status 2
and the API into 400.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ASCII digits only: `\d` also takes other scripts' digits, which no one types for a span.
_SPAN = re.compile(r"([0-9]+)\s*([dhm])")
_SPAN_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    """`moment` as the stored UTC text form; a naive datetime is taken to be UTC already. Not
    strftime('%Y'), which leaves years before 1000 unpadded ('999-...'), and stamps are compared as text."""
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC; 9999-12-31T23:59-01:00 after 9999
            moment = datetime.min if (moment.utcoffset() or timedelta(0)) > timedelta(0) else datetime.max
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def format_struct_time(value: time.struct_time) -> str:
    """A UTC `time.struct_time` (as feedparser gives them) in the stored form."""
    return time.strftime(TIMESTAMP, value)


def parse_timestamp(text: str | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime; None for no or unreadable text (never raises)."""
    if not text:
        return None
    try:
        return datetime.strptime(text, TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_since(text: str | None, now: datetime | None = None) -> str | None:
    """YYYY-MM-DD, an ISO timestamp or a span back from now (30d, 12h, 15m) as a stored timestamp."""
    if not text:
        return None
    span = _SPAN.fullmatch(text.strip())
    if span:
        return _span_start(span.group(1), span.group(2), now or datetime.now(UTC))
    try:
        if DAY.fullmatch(text):
            return date.fromisoformat(text).isoformat() + "T00:00:00Z"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: use YYYY-MM-DD, an ISO timestamp, or a span such as 30d") from None
    return format_timestamp(parsed)


def _span_start(digits: str, unit: str, now: datetime) -> str:
    """The instant `digits` units back from `now`; a span reaching past year 1 means from the start."""
    if len(digits) > 15:  # past datetime's range in any unit, and int() refuses 4300+ digits
        return format_timestamp(datetime.min)
    try:
        return format_timestamp(now - timedelta(**{_SPAN_UNITS[unit]: int(digits)}))
    except OverflowError:
        return format_timestamp(datetime.min)


def parse_day(text: str | None) -> date | None:
    """An ISO day (YYYY-MM-DD), or None for no text."""
    if not text:
        return None
    if not DAY.fullmatch(text):
        raise ValueError(f"{text!r}: use a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r}: use a date as YYYY-MM-DD") from None

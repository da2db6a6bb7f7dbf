"""What a report covers, and the pure rules about it: the period (dates in the report's
time zone, or exact times), the filters, the days it spans, and CSV cells that a
spreadsheet cannot mistake for formulas. No I/O."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from app.domain.errors import BadRequest
from app.domain.timefmt import parse

DEFAULT_DAYS = 7
"""Without `from` and `to`: the last seven days, today included."""
MAX_DAYS = 366
"""The longest period one report covers (a year, leap day included)."""
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """A report's period and filters, checked."""

    customer_id: str
    start: datetime
    """The first instant counted (UTC)."""
    end: datetime
    """The first instant not counted (UTC)."""
    time_zone: str
    """IANA name: what a day and an hour are."""
    team_id: str | None = None
    """Rooms of this team."""
    owner_id: str | None = None
    """Rooms assigned to this agent."""
    reference_type: str | None = None
    """Rooms on this channel."""
    agent_id: str | None = None
    """The agents report: this agent's row only."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a 400 naming the parameter."""
    try:
        if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadRequest(
            "invalid_parameter", "time_zone: an IANA time zone such as Europe/Paris is needed."
        ) from None


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone` (in UTC). Where the day starts in a gap
    (a clock put forward at midnight), the instant the clocks jumped to."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _bound(name: str, text: str, zone: ZoneInfo, *, end: bool) -> datetime:
    text = text.strip()
    if _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:
            if end:  # a date as the end: that whole day is in
                if day == date.max:
                    raise BadRequest("invalid_parameter", f"{name}: a date before 9999-12-31.")
                day += timedelta(days=1)
            return midnight(day, zone)
    try:
        value = parse(text)
    except (ValueError, OverflowError):
        raise BadRequest(
            "invalid_parameter",
            f"{name}: a date (2026-12-01, in the report's time zone) or a time"
            " (2026-12-01 09:00:00.000000 UTC, or ISO 8601) is needed.",
        ) from None
    return value


def _shift(instant: datetime, days: int, zone: ZoneInfo) -> datetime:
    """`instant` moved by `days` calendar days on the wall clock of `zone` (so a week
    across a DST change starts and ends at the same local time)."""
    local = instant.astimezone(zone).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=zone).astimezone(UTC)


def period(
    since: str | None, until: str | None, zone: ZoneInfo, at: datetime
) -> tuple[datetime, datetime]:
    """[start, end) in UTC from the `from` and `to` parameters: a date is a whole day in
    `zone` (`to` included), a time is that instant. Neither: the last DEFAULT_DAYS days,
    today included; one of them: DEFAULT_DAYS days from `from`, or before `to`."""
    try:
        start = _bound("from", since, zone, end=False) if since else None
        end = _bound("to", until, zone, end=True) if until else None
        if start is None and end is None:
            end = midnight(at.astimezone(zone).date() + timedelta(days=1), zone)
        if start is None:
            assert end is not None
            start = _shift(end, -DEFAULT_DAYS, zone)
        if end is None:
            end = _shift(start, DEFAULT_DAYS, zone)
        if start >= end:
            raise BadRequest("invalid_parameter", "from must be before to.")
        if len(days_of(start, end, zone)) > MAX_DAYS:
            raise BadRequest("invalid_parameter", f"A report covers at most {MAX_DAYS} days.")
    except (OverflowError, ValueError):
        raise BadRequest(
            "invalid_parameter", "from and to: a period within the years 2-9998."
        ) from None
    return start, end


def days_of(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The local dates [start, end) touches, in order."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    count = (last - first).days + 1
    if count > MAX_DAYS + 1:  # never build a list longer than a report may be
        return [first + timedelta(days=i) for i in range(MAX_DAYS + 2)]
    return [first + timedelta(days=i) for i in range(count)]


def percent(part: int, whole: int) -> float | None:
    """`part` of `whole` in percent, one decimal; None of nothing."""
    return round(100 * part / whole, 1) if whole else None


def average(counts: dict[int, int]) -> float | None:
    """The average rating of a distribution {rating: count}, two decimals."""
    n = sum(counts.values())
    return round(sum(r * c for r, c in counts.items()) / n, 2) if n else None


def seconds(value: float | None) -> float | None:
    """A duration in seconds as reported: milliseconds at most."""
    return None if value is None else round(value, 3)


# --- CSV -------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One CSV cell's text. Text starting like a formula (`=`, `+`, `-`, `@`, a tab or
    carriage return) is written with a leading `'` so that a spreadsheet shows it rather
    than runs it (OWASP's CSV injection advice); numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Iterable[object]]) -> str:
    """Rows as CSV text (RFC 4180: quoted where needed, CRLF line ends), each cell made
    safe by `cell`."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()

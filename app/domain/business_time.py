"""Business time: when a calendar is open, and how much open time lies between two instants.

A calendar is a time zone, weekly open periods in local wall-clock time (several per day:
a lunch break is two periods) and closed dates (holidays, one-off or every year). `None`
in place of a calendar means open around the clock, so callers never special-case it.

Rules that are easy to get wrong, decided once here:

- Periods are wall-clock times, so a day with a DST change has 23 or 25 hours and a
  period 00:00-24:00 on it lasts that long.
- A period boundary that falls in the skipped hour (spring forward) moves to the first
  instant that exists, the moment of the change.
- In the repeated hour (fall back) a start is the first occurrence (`fold=0`) and an end
  the second (`fold=1`): a night shift 22:00-02:00 works the extra hour, as its people do.
- A holiday closes the periods of that local date; a period of the day before ending at
  24:00 still ends at the holiday's midnight. A yearly holiday on 29 February closes only
  in leap years (the date does not exist in the others).
- Naive datetimes count as UTC (as `app.domain.timefmt.parse` does); results are UTC.
- A calendar closed for `HORIZON_DAYS` days in a row (no periods, or holidays covering
  more than a year) counts as never opening, so searches for the next open time end.

Pure: `zoneinfo` only, no I/O. Work is proportional to the local days crossed; the open
stretches of a (calendar, date) pair are memoised because clocks ask about the same few
days again and again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HORIZON_DAYS = 400
"""Closed this many days in a row (more than a year, so yearly holidays have all come
round, 29 February included) means the calendar never opens."""

_HHMM = re.compile(r"^([0-9]{2}):([0-9]{2})$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class CalendarError(ValueError):
    """A calendar that cannot be built; `reason` is a stable snake_case code for the API."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Period:
    """A weekly open period in local time; day 0 = Monday .. 6 = Sunday.

    `end` None means 24:00, the end of the day; otherwise end > start."""

    day: int
    start: time
    end: time | None

    def __post_init__(self) -> None:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or not 0 <= self.day <= 6:
            raise CalendarError("period_day_invalid", f"day is 0 (Monday) to 6, not {self.day!r}")
        if self.end is not None and self.end <= self.start:
            raise CalendarError("period_end_invalid", "a period must end after it starts")


@dataclass(frozen=True)
class Holiday:
    """A closed local date; `yearly`: the same month and day every year."""

    date: date
    yearly: bool = False
    name: str = ""


@dataclass(frozen=True)
class Calendar:
    time_zone: str
    periods: tuple[Period, ...]
    holidays: tuple[Holiday, ...] = ()

    def __post_init__(self) -> None:
        zone_of(self.time_zone)
        # hashed once: every open stretch is looked up in a cache keyed by the calendar,
        # and hashing its periods and holidays again at each lookup cost the message path
        # more than the lookups themselves
        object.__setattr__(self, "_hash", hash((self.time_zone, self.periods, self.holidays)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined,no-any-return]


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone called `name`; CalendarError when there is none."""
    if not isinstance(name, str) or not name or len(name) > 64:
        raise CalendarError("time_zone_invalid", f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError("time_zone_invalid", f"unknown time zone {name!r}") from None


def parse_hhmm(text: Any, *, allow_24: bool) -> time | None:
    """Parse "HH:MM"; "24:00" (only where `allow_24`) gives None, the end of the day."""
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError("time_invalid", f'times are "HH:MM", not {text!r}')
    hour, minute = int(match.group(1)), int(match.group(2))
    if allow_24 and hour == 24 and minute == 0:
        return None
    if hour > 23 or minute > 59:
        raise CalendarError("time_invalid", f"{text!r} is not a time of day")
    return time(hour, minute)


def parse_date(text: Any) -> date:
    """Parse "YYYY-MM-DD"."""
    if not isinstance(text, str) or not _DATE.match(text):
        raise CalendarError("date_invalid", f'dates are "YYYY-MM-DD", not {text!r}')
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CalendarError("date_invalid", f"{text!r} is not a date") from None


def calendar_from(
    time_zone: str, periods: list[dict[str, Any]], holidays: list[dict[str, Any]]
) -> Calendar:
    """A calendar from the API's (and the jsonb columns') shapes:
    periods [{day, start "HH:MM", end "HH:MM" ("24:00" allowed)}],
    holidays [{date "YYYY-MM-DD", yearly, name}]. CalendarError on anything else."""
    built: list[Period] = []
    for raw in periods:
        if not isinstance(raw, dict):
            raise CalendarError("period_invalid", "each period is {day, start, end}")
        start = parse_hhmm(raw.get("start"), allow_24=False)
        assert start is not None
        end = parse_hhmm(raw.get("end"), allow_24=True)
        built.append(Period(day=raw.get("day"), start=start, end=end))  # type: ignore[arg-type]
    closed: list[Holiday] = []
    for raw in holidays:
        if not isinstance(raw, dict):
            raise CalendarError("holiday_invalid", "each holiday is {date, yearly, name}")
        yearly = raw.get("yearly", False)
        name = raw.get("name", "")
        if not isinstance(yearly, bool):
            raise CalendarError("holiday_invalid", "a holiday's yearly is true or false")
        if not isinstance(name, str):
            raise CalendarError("holiday_invalid", "a holiday's name is text")
        closed.append(Holiday(date=parse_date(raw.get("date")), yearly=yearly, name=name))
    return Calendar(time_zone=time_zone, periods=tuple(built), holidays=tuple(closed))


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class _Compiled:
    zone: ZoneInfo
    by_day: tuple[tuple[tuple[time, time | None], ...], ...]
    one_off: frozenset[date]
    yearly: frozenset[tuple[int, int]]


@lru_cache(maxsize=512)
def _compile(cal: Calendar) -> _Compiled:
    days: list[list[tuple[time, time | None]]] = [[] for _ in range(7)]
    for period in cal.periods:
        days[period.day].append((period.start, period.end))
    return _Compiled(
        zone=zone_of(cal.time_zone),
        by_day=tuple(tuple(sorted(day, key=lambda p: p[0])) for day in days),
        one_off=frozenset(h.date for h in cal.holidays if not h.yearly),
        yearly=frozenset((h.date.month, h.date.day) for h in cal.holidays if h.yearly),
    )


def _wall_to_utc(day: date, at: time, zone: ZoneInfo, fold: int) -> datetime:
    """The UTC instant the local wall clock shows `day` `at`; in a skipped hour, the first
    instant that exists (the moment of the change)."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In the gap, the two folds read the wall time with the offsets either side of the
    # change; the change lies between them. Transitions fall on whole seconds.
    a = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    b = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = int(min(a, b).timestamp()), int(max(a, b).timestamp())
    after = datetime.fromtimestamp(hi, UTC).astimezone(zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=8192)
def _day(cal: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The open stretches of the periods of local date `day`, in UTC, in start order
    (they may touch or overlap: callers merge)."""
    compiled = _compile(cal)
    if day in compiled.one_off or (day.month, day.day) in compiled.yearly:
        return ()
    out: list[tuple[datetime, datetime]] = []
    for start, end in compiled.by_day[day.weekday()]:
        begin = _wall_to_utc(day, start, compiled.zone, fold=0)
        if end is None:
            finish = _wall_to_utc(day + timedelta(days=1), time(0, 0), compiled.zone, fold=1)
        else:
            finish = _wall_to_utc(day, end, compiled.zone, fold=1)
        if finish > begin:
            out.append((begin, finish))
    return tuple(out)


def _local_date(cal: Calendar, at: datetime) -> date:
    return at.astimezone(_compile(cal).zone).date()


def _raw_from(cal: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open stretches that end after `start`, clipped to begin no earlier than it, in
    order and without overlap (touching ones stay separate); ends after `HORIZON_DAYS`
    closed days in a row."""
    day = _local_date(cal, start) - timedelta(days=1)
    cursor = start
    closed_days = 0
    while closed_days <= HORIZON_DAYS:
        found = False
        for begin, finish in _day(cal, day):
            if finish <= cursor:
                continue
            found = True
            begin = max(begin, cursor)
            yield begin, finish
            cursor = finish
        closed_days = 0 if found else closed_days + 1
        day += timedelta(days=1)


def is_open(cal: Calendar | None, at: datetime) -> bool:
    """Whether the calendar is open at `at` (None: always)."""
    if cal is None:
        return True
    at = _utc(at)
    day = _local_date(cal, at)
    for d in (day - timedelta(days=1), day):
        for begin, finish in _day(cal, d):
            if begin <= at < finish:
                return True
    return False


def open_intervals(
    cal: Calendar | None, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The open stretches within [start, end), UTC, in order, merged where they touch."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    if cal is None:
        return [(start, end)]
    out: list[tuple[datetime, datetime]] = []
    day = _local_date(cal, start) - timedelta(days=1)
    last = _local_date(cal, end)
    while day <= last:
        for begin, finish in _day(cal, day):
            begin, finish = max(begin, start), min(finish, end)
            if finish <= begin:
                continue
            if out and begin <= out[-1][1]:
                if finish > out[-1][1]:
                    out[-1] = (out[-1][0], finish)
            else:
                out.append((begin, finish))
        day += timedelta(days=1)
    return out


def business_seconds(cal: Calendar | None, start: datetime, end: datetime) -> float:
    """Seconds of open time within [start, end); 0 when end <= start."""
    return sum((f - b).total_seconds() for b, f in open_intervals(cal, start, end))


def add_business_seconds(cal: Calendar | None, start: datetime, seconds: float) -> datetime | None:
    """The instant at which `seconds` of open time after `start` have passed (`start`
    itself for zero or less); None when the calendar never opens."""
    start = _utc(start)
    if seconds <= 0:
        return start
    if cal is None:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for begin, finish in _raw_from(cal, start):
        length = finish - begin
        if remaining <= length:
            return begin + remaining
        remaining -= length
    return None


def next_open(cal: Calendar | None, at: datetime) -> datetime | None:
    """`at` when open now, else when the calendar next opens; None if it never does."""
    at = _utc(at)
    if cal is None:
        return at
    for begin, _finish in _raw_from(cal, at):
        return begin
    return None


def next_close(cal: Calendar | None, at: datetime) -> datetime | None:
    """The end of the open stretch `at` is in (`at` itself when closed now); None when it
    never closes (24/7, or open for `HORIZON_DAYS` days on end)."""
    at = _utc(at)
    if cal is None:
        return None
    cursor = at
    for begin, finish in _raw_from(cal, at):
        if begin > cursor:
            return cursor
        cursor = finish
        if cursor - at > timedelta(days=HORIZON_DAYS):
            return None
    return cursor

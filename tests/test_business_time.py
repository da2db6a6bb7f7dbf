"""Business time: open stretches, business seconds and deadlines over a calendar, across
time zones, DST changes, midnight, lunch breaks and holidays. Plain functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.business_time import (
    Calendar,
    CalendarError,
    Holiday,
    Period,
    add_business_seconds,
    business_seconds,
    calendar_from,
    is_open,
    next_close,
    next_open,
    open_intervals,
)

pytestmark = pytest.mark.pure

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)  # type: ignore[misc]


def week(zone: str, *spans: tuple[str, str], days: range = range(5), holidays=()) -> Calendar:
    periods = [{"day": d, "start": s, "end": e} for d in days for s, e in spans]
    return calendar_from(zone, periods, list(holidays))


# 2024-01-01 is a Monday.
LUNCH = week("UTC", ("09:00", "12:00"), ("13:00", "17:00"))


def test_a_lunch_break_splits_the_day():
    assert open_intervals(LUNCH, utc(2024, 1, 1, 8), utc(2024, 1, 1, 18)) == [
        (utc(2024, 1, 1, 9), utc(2024, 1, 1, 12)),
        (utc(2024, 1, 1, 13), utc(2024, 1, 1, 17)),
    ]
    assert business_seconds(LUNCH, utc(2024, 1, 1, 8), utc(2024, 1, 1, 18)) == 7 * HOUR
    assert not is_open(LUNCH, utc(2024, 1, 1, 12, 30))
    assert is_open(LUNCH, utc(2024, 1, 1, 11, 59))
    assert not is_open(LUNCH, utc(2024, 1, 1, 12))  # periods end before their end time
    assert is_open(LUNCH, utc(2024, 1, 1, 13))
    assert next_open(LUNCH, utc(2024, 1, 1, 12, 30)) == utc(2024, 1, 1, 13)
    assert next_close(LUNCH, utc(2024, 1, 1, 10)) == utc(2024, 1, 1, 12)
    assert next_close(LUNCH, utc(2024, 1, 1, 14)) == utc(2024, 1, 1, 17)


@pytest.mark.parametrize(
    ("start", "seconds", "due"),
    [
        (utc(2024, 1, 1, 10), 3 * HOUR, utc(2024, 1, 1, 14)),  # across lunch
        (utc(2024, 1, 1, 8), HOUR, utc(2024, 1, 1, 10)),  # start before opening
        (utc(2024, 1, 1, 11, 30), HOUR, utc(2024, 1, 1, 13, 30)),  # start inside a period
        (utc(2024, 1, 1, 12, 15), 15 * 60, utc(2024, 1, 1, 13, 15)),  # start at lunch
        (utc(2024, 1, 1, 16), 2 * HOUR, utc(2024, 1, 2, 10)),  # overnight
        (utc(2024, 1, 1, 9), 7 * HOUR, utc(2024, 1, 1, 17)),  # exactly a day: ends at close
        (utc(2024, 1, 5, 16), 2 * HOUR, utc(2024, 1, 8, 10)),  # Friday to Monday
        (utc(2024, 1, 6, 12), 60, utc(2024, 1, 8, 9, 1)),  # from the weekend
        (utc(2024, 1, 1, 9), 35 * HOUR, utc(2024, 1, 5, 17)),  # a whole working week
    ],
)
def test_deadlines_over_a_working_week(start, seconds, due):
    assert add_business_seconds(LUNCH, start, seconds) == due
    assert business_seconds(LUNCH, start, due) == seconds


@pytest.mark.parametrize("at", [utc(2024, 1, 1, 10), utc(2024, 1, 1, 12, 30), utc(2024, 1, 6)])
def test_zero_seconds_is_the_start_itself(at):
    assert add_business_seconds(LUNCH, at, 0) == at
    assert add_business_seconds(None, at, 0) == at


def test_touching_periods_are_one_stretch():
    cal = week("UTC", ("09:00", "12:00"), ("12:00", "17:00"))
    assert open_intervals(cal, utc(2024, 1, 1), utc(2024, 1, 2)) == [
        (utc(2024, 1, 1, 9), utc(2024, 1, 1, 17))
    ]
    assert next_close(cal, utc(2024, 1, 1, 10)) == utc(2024, 1, 1, 17)


def test_a_night_shift_across_midnight_is_two_periods_that_meet():
    # Friday 22:00-24:00 and Saturday 00:00-06:00
    cal = calendar_from(
        "UTC",
        [
            {"day": 4, "start": "22:00", "end": "24:00"},
            {"day": 5, "start": "00:00", "end": "06:00"},
        ],
        [],
    )
    assert cal.periods[0].end is None
    assert open_intervals(cal, utc(2024, 1, 5, 20), utc(2024, 1, 6, 12)) == [
        (utc(2024, 1, 5, 22), utc(2024, 1, 6, 6))
    ]
    assert is_open(cal, utc(2024, 1, 6, 0))
    assert is_open(cal, utc(2024, 1, 5, 23, 59))
    assert next_close(cal, utc(2024, 1, 5, 23)) == utc(2024, 1, 6, 6)
    assert next_open(cal, utc(2024, 1, 6, 7)) == utc(2024, 1, 12, 22)
    assert add_business_seconds(cal, utc(2024, 1, 5, 23), 2 * HOUR) == utc(2024, 1, 6, 1)


def test_open_all_week_never_closes():
    cal = week("Europe/Berlin", ("00:00", "24:00"), days=range(7))
    start = utc(2024, 3, 29)
    assert open_intervals(cal, start, start + timedelta(days=5)) == [
        (start, start + timedelta(days=5))
    ]
    assert next_close(cal, start) is None
    assert is_open(cal, utc(2024, 3, 31, 1, 30))  # across the DST change too


def test_a_yearly_holiday_is_where_an_open_week_closes():
    cal = week(
        "UTC", ("00:00", "24:00"), days=range(7), holidays=[{"date": "2000-12-25", "yearly": True}]
    )
    assert next_close(cal, utc(2024, 12, 20, 5)) == utc(2024, 12, 25)
    assert next_open(cal, utc(2024, 12, 25, 5)) == utc(2024, 12, 26)
    assert business_seconds(cal, utc(2024, 12, 24), utc(2024, 12, 27)) == 2 * 24 * HOUR


def test_one_off_and_yearly_holidays():
    cal = week(
        "UTC",
        ("09:00", "17:00"),
        holidays=[
            {"date": "2024-07-04", "name": "Independence Day"},
            {"date": "2019-12-25", "yearly": True, "name": "Christmas"},
        ],
    )
    assert cal.holidays[0] == Holiday(date(2024, 7, 4), False, "Independence Day")
    # Thursday 4 July 2024 is closed; the year after, the date is open again
    assert not is_open(cal, utc(2024, 7, 4, 10))
    assert business_seconds(cal, utc(2024, 7, 3), utc(2024, 7, 6)) == 16 * HOUR
    assert is_open(cal, utc(2025, 7, 4, 10))
    # Christmas closes every year, whatever the weekday
    for year in (2024, 2025, 2031):
        christmas = utc(year, 12, 25, 10)
        assert christmas.weekday() < 5
        assert not is_open(cal, christmas)
        assert is_open(cal, christmas + timedelta(days=1))


def test_a_yearly_29_february_closes_only_in_leap_years():
    cal = week(
        "UTC", ("00:00", "24:00"), days=range(7), holidays=[{"date": "2024-02-29", "yearly": True}]
    )
    assert not is_open(cal, utc(2028, 2, 29, 12))
    assert business_seconds(cal, utc(2028, 2, 28), utc(2028, 3, 2)) == 2 * 24 * HOUR
    assert is_open(cal, utc(2027, 2, 28, 12))
    assert is_open(cal, utc(2027, 3, 1, 12))
    assert business_seconds(cal, utc(2027, 2, 27), utc(2027, 3, 2)) == 3 * 24 * HOUR


def test_a_holiday_keeps_the_night_before_whole():
    # Tuesday ends at 24:00 and Wednesday is a holiday: Tuesday still runs to midnight
    cal = week("UTC", ("18:00", "24:00"), ("00:00", "02:00"), holidays=[{"date": "2024-01-03"}])
    assert open_intervals(cal, utc(2024, 1, 2, 17), utc(2024, 1, 3, 12)) == [
        (utc(2024, 1, 2, 18), utc(2024, 1, 3))
    ]


def test_a_deadline_crossing_a_weekend_and_a_holiday_in_berlin():
    # Friday 29 March 2024, 16:00 CET; Easter Monday (1 April) is closed; DST began Sunday
    cal = week(
        "Europe/Berlin",
        ("09:00", "17:00"),
        holidays=[{"date": "2024-04-01", "name": "Ostermontag"}],
    )
    start = local(BERLIN, 2024, 3, 29, 16)
    due = add_business_seconds(cal, start, 2 * HOUR)
    assert due == local(BERLIN, 2024, 4, 2, 10) == utc(2024, 4, 2, 8)
    assert due is not None and due.tzinfo is UTC
    assert business_seconds(cal, start, due) == 2 * HOUR


def test_new_york_weekend_across_spring_forward():
    cal = week("America/New_York", ("09:00", "17:00"))
    start = local(NEW_YORK, 2024, 3, 8, 16)  # Friday, EST
    assert add_business_seconds(cal, start, 2 * HOUR) == utc(2024, 3, 11, 14)  # Monday 10:00 EDT
    assert next_open(cal, local(NEW_YORK, 2024, 3, 9, 12)) == utc(2024, 3, 11, 13)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", date(2024, 3, 31), 23),  # spring forward
        ("Europe/Berlin", date(2024, 10, 27), 25),  # fall back
        ("Europe/Berlin", date(2024, 3, 24), 24),
        ("America/New_York", date(2024, 3, 10), 23),
        ("America/New_York", date(2024, 11, 3), 25),
        ("America/New_York", date(2024, 11, 10), 24),
    ],
)
def test_a_whole_day_lasts_as_long_as_the_wall_clock_says(zone, day, hours):
    cal = calendar_from(zone, [{"day": day.weekday(), "start": "00:00", "end": "24:00"}], [])
    tz = ZoneInfo(zone)
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    assert open_intervals(cal, midnight - timedelta(days=1), after + timedelta(days=1)) == [
        (midnight.astimezone(UTC), after.astimezone(UTC))
    ]
    assert (
        business_seconds(cal, midnight - timedelta(days=2), after + timedelta(days=2))
        == hours * HOUR
    )


def _dst_case(zone: str, day: str, start: str, end: str, opens: str, closes: str):
    """A period on `day` in `zone` and the UTC times (that same UTC date) it opens and closes."""
    d = date.fromisoformat(day)
    h0, m0 = map(int, opens.split(":"))
    h1, m1 = map(int, closes.split(":"))
    return (
        zone,
        d,
        start,
        end,
        utc(d.year, d.month, d.day, h0, m0),
        utc(d.year, d.month, d.day, h1, m1),
    )


@pytest.mark.parametrize(
    ("zone", "day", "start", "end", "utc_start", "utc_end"),
    [
        # a start in the skipped hour begins when the clocks change
        _dst_case("Europe/Berlin", "2024-03-31", "02:30", "04:00", "01:00", "02:00"),
        _dst_case("America/New_York", "2024-03-10", "02:30", "03:30", "07:00", "07:30"),
        # an end in the skipped hour ends there too
        _dst_case("America/New_York", "2024-03-10", "01:00", "02:30", "06:00", "07:00"),
        # a period across the change lasts an hour less
        _dst_case("Europe/Berlin", "2024-03-31", "01:00", "04:00", "00:00", "02:00"),
        # the repeated hour: start at its first pass, end at its second (real elapsed time)
        _dst_case("America/New_York", "2024-11-03", "01:00", "03:00", "05:00", "08:00"),
        _dst_case("Europe/Berlin", "2024-10-27", "02:30", "04:00", "00:30", "03:00"),
        _dst_case("America/New_York", "2024-11-03", "00:00", "01:30", "04:00", "06:30"),
        # ordinary days either side
        _dst_case("Europe/Berlin", "2024-03-30", "02:30", "04:00", "01:30", "03:00"),
        _dst_case("America/New_York", "2024-11-04", "01:00", "03:00", "06:00", "08:00"),
    ],
)
def test_periods_on_dst_days(zone, day, start, end, utc_start, utc_end):
    cal = calendar_from(zone, [{"day": day.weekday(), "start": start, "end": end}], [])
    midnight = utc(day.year, day.month, day.day)
    window = (midnight - timedelta(days=1), midnight + timedelta(days=2))
    assert open_intervals(cal, *window) == [(utc_start, utc_end)]
    assert business_seconds(cal, *window) == (utc_end - utc_start).total_seconds()
    assert next_open(cal, window[0]) == utc_start
    assert next_close(cal, utc_start) == utc_end


def test_a_period_wholly_inside_the_skipped_hour_never_opens_that_day():
    cal = calendar_from("America/New_York", [{"day": 6, "start": "02:10", "end": "02:50"}], [])
    assert open_intervals(cal, utc(2024, 3, 9), utc(2024, 3, 12)) == []
    assert next_open(cal, utc(2024, 3, 9)) == local(NEW_YORK, 2024, 3, 17, 2, 10)


def test_the_repeated_hour_counts_twice_in_a_night_shift():
    cal = calendar_from(
        "Europe/Berlin",
        [
            {"day": 5, "start": "22:00", "end": "24:00"},
            {"day": 6, "start": "00:00", "end": "06:00"},
        ],
        [],
    )
    start = local(BERLIN, 2024, 10, 26, 22)
    assert business_seconds(cal, start, start + timedelta(days=1)) == 9 * HOUR
    assert next_close(cal, start) == local(BERLIN, 2024, 10, 27, 6)
    # eight hours of work after 22:00 CEST end at 05:00 CET: the clocks went back once
    assert add_business_seconds(cal, start, 8 * HOUR) == local(BERLIN, 2024, 10, 27, 5)


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)
def test_deadlines_and_business_seconds_agree(zone):
    cal = week(
        zone,
        ("08:30", "12:00"),
        ("13:00", "18:15"),
        ("22:00", "24:00"),
        days=range(6),
        holidays=[{"date": "2024-11-05"}, {"date": "2000-03-11", "yearly": True}],
    )
    start = utc(2024, 2, 25, 7, 13)
    for i in range(60):
        begin = start + timedelta(hours=97 * i, minutes=7 * i)
        for seconds in (1.0, 900.0, 4 * HOUR + 17, 40 * HOUR):
            due = add_business_seconds(cal, begin, seconds)
            assert due is not None
            assert business_seconds(cal, begin, due) == pytest.approx(seconds)
            # the budget runs out while open (just before the due instant)
            assert is_open(cal, due - timedelta(seconds=0.5))


def test_inputs_in_any_zone_give_utc_outputs():
    tokyo = ZoneInfo("Asia/Tokyo")
    at = datetime(2024, 1, 1, 19, tzinfo=tokyo)  # 10:00 UTC Monday
    assert is_open(LUNCH, at)
    due = add_business_seconds(LUNCH, at, HOUR)
    assert due == utc(2024, 1, 1, 11) and due is not None and due.tzinfo is UTC
    (first, _), *_ = open_intervals(LUNCH, at, at + timedelta(hours=5))
    assert first.tzinfo is UTC and first == utc(2024, 1, 1, 10)
    naive = datetime(2024, 1, 1, 10)  # naive counts as UTC
    assert next_close(LUNCH, naive) == utc(2024, 1, 1, 12)


def test_no_calendar_is_open_around_the_clock():
    start, end = utc(2024, 1, 1, 8), utc(2024, 1, 3, 8)
    assert is_open(None, start)
    assert open_intervals(None, start, end) == [(start, end)]
    assert business_seconds(None, start, end) == 48 * HOUR
    assert business_seconds(None, end, start) == 0
    assert add_business_seconds(None, start, 90) == start + timedelta(seconds=90)
    assert next_open(None, start) == start
    assert next_close(None, start) is None


def test_empty_and_reversed_ranges():
    assert open_intervals(LUNCH, utc(2024, 1, 1, 10), utc(2024, 1, 1, 10)) == []
    assert business_seconds(LUNCH, utc(2024, 1, 1, 11), utc(2024, 1, 1, 10)) == 0


@pytest.mark.parametrize(
    "cal",
    [
        Calendar("UTC", ()),
        Calendar("Europe/Berlin", ()),
        # open every day, but every day of the year (29 February too) is a yearly holiday
        Calendar(
            "UTC",
            tuple(Period(d, time(0), None) for d in range(7)),
            tuple(Holiday(date(2024, 1, 1) + timedelta(days=i), yearly=True) for i in range(366)),
        ),
    ],
)
def test_a_calendar_that_never_opens(cal):
    at = utc(2024, 5, 5, 5)
    assert not is_open(cal, at)
    assert add_business_seconds(cal, at, 60) is None
    assert next_open(cal, at) is None
    assert next_close(cal, at) == at  # closed already
    assert open_intervals(cal, at, at + timedelta(days=30)) == []
    assert business_seconds(cal, at, at + timedelta(days=30)) == 0
    assert add_business_seconds(cal, at, 0) == at


def test_a_long_closure_is_crossed():
    # closed for ten months, then open again: the deadline lands after it
    holidays = [{"date": (date(2024, 1, 1) + timedelta(days=i)).isoformat()} for i in range(300)]
    cal = week("UTC", ("09:00", "17:00"), holidays=holidays)
    assert add_business_seconds(cal, utc(2024, 1, 1), HOUR) == utc(2024, 10, 28, 10)


def test_next_close_when_closed_is_now():
    assert next_close(LUNCH, utc(2024, 1, 1, 12, 30)) == utc(2024, 1, 1, 12, 30)
    assert next_open(LUNCH, utc(2024, 1, 1, 10)) == utc(2024, 1, 1, 10)


@pytest.mark.parametrize(
    ("zone", "periods", "holidays", "reason"),
    [
        ("Mars/Olympus", [], [], "time_zone_invalid"),
        ("", [], [], "time_zone_invalid"),
        ("../../etc/passwd", [], [], "time_zone_invalid"),
        ("UTC", [{"day": 7, "start": "09:00", "end": "10:00"}], [], "period_day_invalid"),
        ("UTC", [{"day": -1, "start": "09:00", "end": "10:00"}], [], "period_day_invalid"),
        ("UTC", [{"day": "1", "start": "09:00", "end": "10:00"}], [], "period_day_invalid"),
        ("UTC", [{"day": True, "start": "09:00", "end": "10:00"}], [], "period_day_invalid"),
        ("UTC", [{"day": 1, "start": "9:00", "end": "10:00"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "09:00", "end": "25:00"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "09:60", "end": "10:00"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "24:00", "end": "24:00"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "09:00", "end": "24:01"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "09:00"}], [], "time_invalid"),
        ("UTC", [{"day": 1, "start": "10:00", "end": "10:00"}], [], "period_end_invalid"),
        ("UTC", [{"day": 1, "start": "10:00", "end": "09:00"}], [], "period_end_invalid"),
        ("UTC", ["09:00-10:00"], [], "period_invalid"),
        ("UTC", [], [{"date": "2024-02-30"}], "date_invalid"),
        ("UTC", [], [{"date": "24-12-25"}], "date_invalid"),
        ("UTC", [], [{"date": 20241225}], "date_invalid"),
        ("UTC", [], [{"date": "2024-12-25", "yearly": "yes"}], "holiday_invalid"),
        ("UTC", [], [{"date": "2024-12-25", "name": 5}], "holiday_invalid"),
        ("UTC", [], ["2024-12-25"], "holiday_invalid"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(zone, periods, holidays, reason):
    with pytest.raises(CalendarError) as caught:
        calendar_from(zone, periods, holidays)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_calendars_are_values():
    a = week("UTC", ("09:00", "17:00"))
    b = week("UTC", ("09:00", "17:00"))
    assert a == b and hash(a) == hash(b)
    assert a.periods[0] == Period(0, time(9), time(17))

"""The reports' pure rules: what period `from` and `to` mean (dates as whole local days,
across DST changes and in zones off the hour), quarter-hour slots, CSV cells that cannot
run as formulas, and how durations read on the desk."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.desk.reports_pages import duration
from app.domain.errors import BadRequest
from app.reports.facts import slot_of
from app.reports.scope import cell, csv_lines, days_of, period, zone_of

pytestmark = pytest.mark.pure

AT = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "zone", "start", "end"),
    [
        # neither: the last 7 days, today included, in the zone
        (None, None, "UTC", utc(2026, 11, 27), utc(2026, 12, 4)),
        (None, None, "Asia/Tokyo", utc(2026, 11, 27, 15), utc(2026, 12, 4, 15)),
        # dates are whole local days, `to` included
        ("2026-12-01", "2026-12-01", "UTC", utc(2026, 12, 1), utc(2026, 12, 2)),
        ("2026-12-01", "2026-12-02", "America/New_York", utc(2026, 12, 1, 5), utc(2026, 12, 3, 5)),
        # across a DST change: the spring-forward day is 23 hours, the fall-back day 25
        ("2026-03-29", "2026-03-29", "Europe/Paris", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
        ("2026-10-25", "2026-10-25", "Europe/Paris", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
        # zones off the hour
        ("2026-12-01", "2026-12-01", "Asia/Kolkata",
         utc(2026, 11, 30, 18, 30), utc(2026, 12, 1, 18, 30)),
        ("2026-12-01", "2026-12-01", "Asia/Kathmandu",
         utc(2026, 11, 30, 18, 15), utc(2026, 12, 1, 18, 15)),
        # a day that starts in a gap (Santiago puts its clocks forward at midnight)
        ("2026-09-06", "2026-09-06", "America/Santiago", utc(2026, 9, 6, 4), utc(2026, 9, 7, 3)),
        # one side given: seven local days from it or before it (a week across the change)
        ("2026-03-25", None, "Europe/Paris", utc(2026, 3, 24, 23), utc(2026, 3, 31, 22)),
        (None, "2026-03-31", "Europe/Paris", utc(2026, 3, 24, 23), utc(2026, 3, 31, 22)),
        # times are instants, in the API's format or ISO 8601 with an offset
        ("2026-12-01 09:00:00.000000", "2026-12-01T12:00:00+02:00", "UTC",
         utc(2026, 12, 1, 9), utc(2026, 12, 1, 10)),
        # a year, leap day included
        ("2027-12-01", "2028-11-30", "UTC", utc(2027, 12, 1), utc(2028, 12, 1)),
    ],
)  # fmt: skip
def test_a_period_from_dates_and_times(since, until, zone, start, end):
    assert period(since, until, ZoneInfo(zone), AT) == (start, end)


@pytest.mark.parametrize(
    ("since", "until"),
    [
        ("2026-12-02", "2026-12-01"),  # backwards
        ("2026-12-01 10:00:00", "2026-12-01 10:00:00"),  # empty
        ("2024-01-01", "2025-01-01"),  # 366 days and one
        ("yesterday", None),
        ("2026-02-30", None),
        ("2026-12-01", "9999-12-31"),
        (None, "0001-01-01"),
        ("2026-13-01T00:00:00", None),
    ],
)
def test_periods_that_are_refused(since, until):
    with pytest.raises(BadRequest) as refused:
        period(since, until, ZoneInfo("Pacific/Kiritimati"), AT)
    assert refused.value.reason == "invalid_parameter"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "x" * 70])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(BadRequest):
        zone_of(name)


def test_the_days_of_a_period_are_local_days():
    zone = ZoneInfo("America/Los_Angeles")
    start, end = period("2026-11-01", "2026-11-03", zone, AT)  # DST ends on Nov 1
    assert days_of(start, end, zone) == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    start, end = period("2026-12-01 10:00:00", "2026-12-01 10:00:01", zone, AT)
    assert days_of(start, end, zone) == [date(2026, 12, 1)]


@pytest.mark.parametrize(
    ("at", "slot"),
    [
        (utc(2026, 12, 1, 10, 0), utc(2026, 12, 1, 10, 0)),
        (utc(2026, 12, 1, 10, 14, 59, 999_999), utc(2026, 12, 1, 10, 0)),
        (utc(2026, 12, 1, 10, 15), utc(2026, 12, 1, 10, 15)),
        (utc(2026, 12, 1, 23, 59, 59), utc(2026, 12, 1, 23, 45)),
    ],
)
def test_a_message_counts_in_its_quarter_hour(at, slot):
    assert slot_of(at) == slot
    # which is a whole local quarter hour in every zone, so local hours split exactly
    for name in ("Asia/Kathmandu", "Asia/Kolkata", "America/St_Johns", "Australia/Eucla"):
        local = slot_of(at).astimezone(ZoneInfo(name))
        assert local.minute % 15 == 0 and local.second == 0
        assert local.hour == at.astimezone(ZoneInfo(name)).hour


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("plain = text", "plain = text"),
        (None, ""),
        (3, "3"),
        (-1.5, "-1.5"),  # numbers are numbers
        (True, "true"),
    ],
)
def test_csv_cells_never_start_a_formula(value, written):
    assert cell(value) == written


def test_csv_lines_quote_what_needs_it_and_read_back():
    rows = [
        ["name", "comment"],
        ['Dana "D" Ross', "line one\nline two, with a comma"],
        ["=1+1", ""],
    ]
    text = csv_lines(rows)
    assert text.endswith("\r\n") and '"Dana ""D"" Ross"' in text
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "comment"],
        ['Dana "D" Ross', "line one\nline two, with a comma"],
        ["'=1+1", ""],
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0.4, "0 s"),
        (59.6, "1 min"),
        (252, "4 min 12 s"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (86400 * 3 + 3600 * 4 + 59, "3 d 4 h"),
        (timedelta(days=2).total_seconds(), "2 d"),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert duration(seconds) == text

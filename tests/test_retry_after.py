"""`Retry-After` as every sender of ours reads it (RFC 9110): pure rules, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.retry import MAX_RETRY_AFTER, retry_after

AT = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),  # header values may come with surrounding spaces
        ("0042", 42.0),
        (str(24 * 3600), MAX_RETRY_AFTER),
        (str(24 * 3600 + 1), MAX_RETRY_AFTER),
        ("9" * 400, MAX_RETRY_AFTER),  # past a float's range: still a number of seconds
    ],
)
def test_delta_seconds(given, seconds):
    assert retry_after(given, at=AT) == seconds


@pytest.mark.parametrize(
    "given",
    [
        "Wed, 21 Oct 2015 07:30:00 GMT",  # IMF-fixdate, the preferred form
        "Wednesday, 21-Oct-15 07:30:00 GMT",  # obsolete RFC 850 form
        "Wed Oct 21 07:30:00 2015",  # obsolete asctime form (no zone: GMT)
    ],
)
def test_http_date_in_each_form_counts_from_now(given):
    assert retry_after(given, at=AT) == 120.0


def test_http_date_is_counted_from_the_current_time_by_default():
    later = datetime.now(UTC) + timedelta(minutes=10)
    seconds = retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert seconds is not None and 590 <= seconds <= 600


def test_a_date_already_past_means_now():
    assert retry_after("Wed, 21 Oct 2015 07:00:00 GMT", at=AT) == 0.0


def test_a_date_far_ahead_is_held_to_the_maximum():
    assert retry_after("Fri, 01 Jan 2100 00:00:00 GMT", at=AT) == MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "given",
    [
        None,
        "",
        "   ",
        "-5",
        "+5",
        "1.5",
        "1e3",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "0x10",
        "²",  # a digit to str.isdigit, not to the RFC
        "٣",
        "soon",
        "120 seconds",
        "Wed, 31 Feb 2015 07:30:00 GMT",  # no such day
        "Wed, 21 Oct 99999 07:30:00 GMT",  # no such year
        "Wed, 21 Oct 2015",
        "\x00",
    ],
)
def test_anything_else_is_no_value(given):
    assert retry_after(given, at=AT) is None

"""Page tokens and page sizes, checked before any query runs. Plain functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core.pagination import MAX_PAGE_SIZE, check_page_size, parse_token
from app.domain.errors import BadRequest
from app.domain.timefmt import fmt

pytestmark = pytest.mark.pure


def test_a_token_is_the_last_items_time_and_reads_back_exactly():
    last = datetime(2022, 6, 17, 6, 6, 14, 446158, tzinfo=UTC)
    token = fmt(last)
    assert token == "2022-06-17 06:06:14.446158"  # the API's own time format
    assert parse_token(token) == last


def test_no_token_is_the_first_page():
    assert parse_token(None) is None
    assert parse_token("") is None


def test_an_iso_time_is_accepted_too():
    assert parse_token("2022-06-17T06:06:14.446158+00:00") == datetime(
        2022, 6, 17, 6, 6, 14, 446158, tzinfo=UTC
    )


@pytest.mark.parametrize("token", ["yesterday", "2022-13-01 00:00:00.000000", "1' OR 1=1", "\x00"])
def test_a_made_up_token_is_a_clear_400(token):
    with pytest.raises(BadRequest) as refused:
        parse_token(token)
    assert refused.value.reason == "invalid_page_token"


def test_page_sizes_from_1_to_the_maximum():
    assert check_page_size(1) == 1
    assert check_page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE == 100
    for size in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(BadRequest) as refused:
            check_page_size(size)
        assert refused.value.reason == "invalid_page_size"

"""Keyset pagination, newest first; the token is the last item's `tm_create`.

A token that is just a timestamp cannot tell apart rows created in the same microsecond,
so a page never ends in the middle of such a tie: when the row after the page shares the
last row's `tm_create`, the page grows to include every row with that time. The next page
then starts strictly before it, and no row is skipped or repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec
from piccolo.columns.combination import Combinable
from piccolo.table import Table

from app.db import typed
from app.db.piccolo_conf import DB
from app.domain.errors import BadRequest
from app.domain.timefmt import fmt, parse

MAX_PAGE_SIZE = 100
Row = TypeVar("Row", bound=msgspec.Struct)


def check_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest("invalid_page_size", f"page_size must be 1 to {MAX_PAGE_SIZE}.")
    return page_size


def parse_token(page_token: str | None):
    if not page_token:
        return None
    try:
        return parse(page_token)
    except ValueError:
        raise BadRequest(
            "invalid_page_token", "page_token must be a next_page_token from an earlier page."
        ) from None


async def keyset_page(
    table: type[Table], where: Sequence[Combinable], page_size: int, page_token: str | None
) -> tuple[list[dict[str, Any]], str]:
    """One page of `table` rows matching every condition in `where`, and the next token."""
    check_page_size(page_size)
    before = parse_token(page_token)
    tm = table._meta.get_column_by_name("tm_create")
    conditions = list(where) + ([tm < before] if before else [])

    def query(*extra: Combinable):
        return (
            table.select()
            .where(*conditions, *extra)
            .order_by(tm, ascending=False)
            .order_by(table._meta.primary_key, ascending=False)
        )

    async def page_of_rows() -> tuple[list[dict[str, Any]], str]:
        rows = await query().limit(page_size + 1)
        if len(rows) <= page_size:
            return rows, ""
        page, boundary = rows[:page_size], rows[page_size - 1]["tm_create"]
        if rows[page_size]["tm_create"] == boundary:
            ties = await query(tm == boundary)
            page = [r for r in page if r["tm_create"] != boundary] + ties
            if not await query(tm < boundary).limit(1):
                return page, ""
        return page, fmt(boundary)

    async with DB.transaction():
        # PostgreSQL switches a prepared statement to a generic plan after five runs, and
        # for "a page of this room's messages" that plan reads and sorts the whole room
        # (18 ms for 5,000 messages instead of 0.4 ms). Lists are planned for their values.
        await table.raw("SET LOCAL plan_cache_mode = force_custom_plan")
        found = await page_of_rows()
    return found


async def keyset_page_as(
    row_type: type[Row],
    table: type[Table],
    where: Sequence[Combinable],
    page_size: int,
    page_token: str | None,
) -> tuple[list[Row], str]:
    """`keyset_page` with each row as a `row_type` (a Struct of the table's columns)."""
    rows, token = await keyset_page(table, where, page_size, page_token)
    return typed.as_rows(row_type, rows), token

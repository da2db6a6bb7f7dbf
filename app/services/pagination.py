"""Keyset pagination, newest first; the token is the last item's `tm_create`.

A token that is just a timestamp cannot tell apart rows created in the same microsecond,
so a page never ends in the middle of such a tie: when the row after the page shares the
last row's `tm_create`, the page grows to include every row with that time. The next page
then starts strictly before it, and no row is skipped or repeated.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns.combination import And, Where
from piccolo.table import Table

from app.db import sql
from app.db.piccolo_conf import DB
from app.domain.errors import BadRequest
from app.domain.timefmt import fmt, parse

MAX_PAGE_SIZE = 100


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
    table: type[Table], where: list[Where | And], page_size: int, page_token: str | None
) -> tuple[list[dict[str, Any]], str]:
    """One page of `table` rows matching every condition in `where`, and the next token."""
    check_page_size(page_size)
    before = parse_token(page_token)
    tm = table._meta.get_column_by_name("tm_create")
    conditions = list(where) + ([tm < before] if before else [])

    def query(*extra: Where | And):
        return (
            table.select()
            .where(*conditions, *extra)
            .order_by(tm, ascending=False)
            .order_by(table._meta.primary_key, ascending=False)
        )

    async with DB.transaction():
        # PostgreSQL switches a prepared statement to a generic plan after five runs, and
        # for "a page of this room's messages" that plan reads and sorts the whole room
        # (18 ms for 5,000 messages instead of 0.4 ms). Lists are planned for their values.
        await table.raw("SET LOCAL plan_cache_mode = force_custom_plan")
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


async def keyset_rows(
    select: str, where: str, args: list[Any], page_size: int, prefix: str = ""
) -> tuple[list[Any], str]:
    """`keyset_page` for raw SQL (`select` ... `where`, with `args` as $1..$n): one page,
    newest first, growing past `page_size` rather than ending inside a `tm_create` tie."""
    tm, ident = prefix + "tm_create", prefix + "id"
    rows = await sql.fetch(
        f"{select} WHERE {where} ORDER BY {tm} DESC, {ident} DESC LIMIT {page_size + 1}", *args
    )
    if len(rows) <= page_size:
        return list(rows), ""
    page, boundary = list(rows[:page_size]), rows[page_size - 1]["tm_create"]
    if rows[page_size]["tm_create"] == boundary:
        n = len(args) + 1
        ties = await sql.fetch(
            f"{select} WHERE {where} AND {tm} = ${n} ORDER BY {ident} DESC", *args, boundary
        )
        page = [r for r in page if r["tm_create"] != boundary] + list(ties)
        older = await sql.fetch(f"{select} WHERE {where} AND {tm} < ${n} LIMIT 1", *args, boundary)
        if not older:
            return page, ""
    return page, fmt(boundary)

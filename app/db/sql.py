"""Plain SQL on asyncpg for the hot paths: the current service transaction's connection
when there is one, else a pooled connection. Piccolo's query builder is convenient but
costs several times the CPU of the query itself; requests that every message or every API
call goes through (inbound, sending, authentication) use this instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import msgspec

from app.db.piccolo_conf import DB


@asynccontextmanager
async def _conn() -> AsyncIterator[asyncpg.Connection]:
    current = DB.current_transaction.get()
    if current is not None:
        yield current.connection
    elif DB.pool is not None:
        async with DB.pool.acquire() as conn:
            yield conn
    else:  # a CLI command or a test, without a pool
        conn = await asyncpg.connect(**DB.config)
        try:
            yield conn
        finally:
            await conn.close()


async def fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    async with _conn() as conn:
        return await conn.fetch(query, *args)


async def fetchrow(query: str, *args: Any) -> asyncpg.Record | None:
    async with _conn() as conn:
        return await conn.fetchrow(query, *args)


Row = TypeVar("Row", bound=msgspec.Struct)


async def fetch_as(row_type: type[Row], query: str, *args: Any) -> list[Row]:
    """`fetch`, each record as a `row_type` (a Struct whose fields are the columns)."""
    return [row_type(**record) for record in await fetch(query, *args)]


async def fetchrow_as(row_type: type[Row], query: str, *args: Any) -> Row | None:
    record = await fetchrow(query, *args)
    return None if record is None else row_type(**record)


async def returned(row_type: type[Row], query: str, *args: Any) -> Row:
    """`fetchrow_as` for a statement that must give a row (an UPDATE ... RETURNING of a row
    the transaction holds, an INSERT ... RETURNING)."""
    found = await fetchrow_as(row_type, query, *args)
    if found is None:
        raise LookupError(f"no {row_type.__name__} came back from: {query}")
    return found


async def fetchval(query: str, *args: Any) -> Any:
    async with _conn() as conn:
        return await conn.fetchval(query, *args)


async def execute(query: str, *args: Any) -> str:
    async with _conn() as conn:
        return await conn.execute(query, *args)


async def stream(query: str, *args: Any, prefetch: int = 500) -> AsyncIterator[asyncpg.Record]:
    """The statement's rows as they come, `prefetch` at a time (a server-side cursor, in a
    transaction of its own): for answers too long to hold at once (the reports' CSV). The
    connection is held until the iteration ends or is closed."""
    async with _conn() as conn, conn.transaction():
        async for record in conn.cursor(query, *args, prefetch=prefetch):
            yield record

"""Plain SQL on asyncpg for the hot paths: the current service transaction's connection
when there is one, else a pooled connection. Piccolo's query builder is convenient but
costs several times the CPU of the query itself; requests that every message or every API
call goes through (inbound, sending, authentication) use this instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

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


async def fetchval(query: str, *args: Any) -> Any:
    async with _conn() as conn:
        return await conn.fetchval(query, *args)


async def execute(query: str, *args: Any) -> str:
    async with _conn() as conn:
        return await conn.execute(query, *args)

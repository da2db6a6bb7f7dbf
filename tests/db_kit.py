"""One statement on a test database, from outside the server: to look at what it stored,
or to move time in it (a row made earlier, a lease run out)."""

from __future__ import annotations

from typing import Any

import asyncpg
from conftest import run_async


async def _run(db_url: str, method: str, query: str, args: tuple) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await getattr(conn, method)(query, *args)
    finally:
        await conn.close()


def sql(db_url: str, query: str, *args) -> list[asyncpg.Record]:
    """The statement's rows (none for most writes)."""
    return run_async(_run(db_url, "fetch", query, args))


def sql_value(db_url: str, query: str, *args) -> Any:
    """The first column of the statement's first row."""
    return run_async(_run(db_url, "fetchval", query, args))


def audit_entries(db_url: str, customer_id: str, action: str) -> list[dict]:
    """The customer's audit entries of one action, oldest first, before/after decoded."""
    import json

    rows = sql(
        db_url,
        "SELECT actor_type, actor_id::text, action, target_type, target_id, before::text,"
        " after::text FROM audit_log WHERE customer_id = $1 AND action = $2 ORDER BY id",
        customer_id,
        action,
    )
    return [
        {**dict(r), "before": json.loads(r["before"]), "after": json.loads(r["after"])}
        for r in rows
    ]

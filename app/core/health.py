"""Is the service able to do its work? Today that means: the database answers."""

from __future__ import annotations

import asyncio

from app.db.tables import Event


async def database_ok() -> bool:
    try:
        async with asyncio.timeout(3):
            rows = await Event.raw("SELECT 1 AS ok")
    except Exception:  # noqa: BLE001 - any failure, including a timeout, means "not healthy"
        return False
    return bool(rows) and rows[0]["ok"] == 1

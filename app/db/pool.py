"""Closing the connection pool at shutdown (the web app's lifespan and `convodesk worker`)."""

from __future__ import annotations

import asyncio
import logging

from app.db.piccolo_conf import DB


async def close_pool(grace: float = 5.0) -> None:
    """Close the connection pool at shutdown. A pool waits for every connection to come
    back, and one still held (a websocket's catch-up cut off mid-query, a request stuck on
    a lock) would hold the shutdown forever: after `grace` seconds the rest are closed."""
    pool = DB.pool
    if pool is None:
        return
    try:
        await asyncio.wait_for(pool.close(), grace)
    except TimeoutError:
        logging.getLogger(__name__).warning(
            "database connections still in use %.0f s into shutdown; closing them", grace
        )
        pool.terminate()
    DB.pool = None

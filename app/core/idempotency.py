"""`Idempotency-Key` for create requests: a repeat with the same key returns the first
result and creates nothing (kept 24 hours).

The key is claimed *before* the work runs (a row without a response), so two concurrent
requests with one key cannot both create: the second gets 409 until the first finishes.
A failed first attempt releases the key, so the client may retry with the same key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec

from app.core import idempotency_store
from app.core.events import transaction
from app.domain.errors import Conflict, InvalidInput
from app.domain.timefmt import now

KEEP = timedelta(hours=24)
ABANDONED = timedelta(seconds=60)
"""A claim without a response this old belongs to a request that died mid-way."""


async def run(
    customer_id: str,
    key: str,
    fingerprint: str,
    create: Callable[[], Awaitable[Any]],
    status_code: int = 201,
) -> tuple[int, Any, bool]:
    """(status code, response body, replayed?) of the request made with this key.

    `create` returns the response body, or (body, status code) when the status depends on
    what it did (a direct talk that existed already is a 200)."""
    stored = await claim(customer_id, key, fingerprint)
    if stored is not None:
        return stored.status_code, stored.response, True
    try:
        # The create joins this transaction, so its rows and the stored response commit
        # together: a crash leaves neither, and the key can be used again.
        async with transaction():
            result = await create()
            if isinstance(result, tuple):
                result, status_code = result
            payload = msgspec.to_builtins(result)
            await complete(customer_id, key, status_code, payload)
    except BaseException:
        await release(customer_id, key)
        raise
    return status_code, payload, False


class Stored(msgspec.Struct, kw_only=True):
    status_code: int
    response: Any


async def claim(customer_id: str, key: str, fingerprint: str) -> Stored | None:
    """None when the caller now owns the key and should do the work."""
    at = now()
    await idempotency_store.forget_stale(
        customer_id, key, kept_since=at - KEEP, claimed_since=at - ABANDONED
    )
    if await idempotency_store.claim(customer_id, key, fingerprint, at):
        return None
    row = await idempotency_store.stored(customer_id, key)
    if row is None:  # released between our insert and select: the caller may go ahead
        return await claim(customer_id, key, fingerprint)
    if row.fingerprint != fingerprint:
        raise InvalidInput(
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
        )
    if row.status_code is None:
        raise Conflict(
            "idempotency_key_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )
    return Stored(status_code=row.status_code, response=row.response)


async def complete(customer_id: str, key: str, status_code: int, response: Any) -> None:
    encoded = msgspec.json.encode(response).decode()
    await idempotency_store.complete(customer_id, key, status_code, encoded)


async def release(customer_id: str, key: str) -> None:
    await idempotency_store.release(customer_id, key)


async def expire() -> int:
    return await idempotency_store.expire(now() - KEEP)

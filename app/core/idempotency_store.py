"""The idempotency_keys table's SQL, as typed rows, with Piccolo's query builder."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.columns.combination import Where

from app.db import typed
from app.db.tables import IdempotencyKey


class KeyRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    customer_id: UUID
    key: str
    fingerprint: str
    status_code: int | None
    """None while the request that claimed the key runs."""
    response: Any
    """The response body (decoded JSON), once there is one."""
    tm_create: datetime


def _mine(customer_id: str, key: str) -> tuple[Where, Where]:
    return IdempotencyKey.customer_id == customer_id, IdempotencyKey.key == key


async def forget_stale(
    customer_id: str, key: str, *, kept_since: datetime, claimed_since: datetime
) -> None:
    """Drop the key if it was stored before `kept_since`, or claimed before
    `claimed_since` by a request that never finished."""
    await IdempotencyKey.delete().where(
        *_mine(customer_id, key),
        (IdempotencyKey.tm_create < kept_since)
        | (IdempotencyKey.status_code.is_null() & (IdempotencyKey.tm_create < claimed_since)),
    )


async def claim(customer_id: str, key: str, fingerprint: str, at: datetime) -> bool:
    """Store the key without a response; False when it is stored already."""
    rows = (
        await IdempotencyKey.insert(
            IdempotencyKey(customer_id=customer_id, key=key, fingerprint=fingerprint, tm_create=at)
        )
        .on_conflict(target=(IdempotencyKey.customer_id, IdempotencyKey.key), action="DO NOTHING")
        .returning(IdempotencyKey.id)
    )
    return bool(rows)


async def stored(customer_id: str, key: str) -> KeyRow | None:
    row = (
        await IdempotencyKey.select().where(*_mine(customer_id, key)).output(load_json=True).first()
    )
    return None if row is None else typed.as_row(KeyRow, row)


async def complete(customer_id: str, key: str, status_code: int, response: str) -> None:
    """The response (its JSON) is stored: repeats get it."""
    await IdempotencyKey.update(
        {IdempotencyKey.status_code: status_code, IdempotencyKey.response: response}
    ).where(*_mine(customer_id, key))


async def release(customer_id: str, key: str) -> None:
    """An unfinished claim goes: the key may be used again."""
    await IdempotencyKey.delete().where(
        *_mine(customer_id, key), IdempotencyKey.status_code.is_null()
    )


async def expire(before: datetime) -> int:
    """Forget every key stored before `before`; how many were."""
    rows = (
        await IdempotencyKey.delete()
        .where(IdempotencyKey.tm_create < before)
        .returning(IdempotencyKey.id)
    )
    return len(rows)

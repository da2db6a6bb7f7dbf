"""The access_keys table's SQL, as typed rows.

Piccolo's query builder, except for finding the key a request presents: every request
made with an access key does that, so it is plain SQL (bench/data_access.py;
docs/ARCHITECTURE.md, "Raw SQL, and why").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from piccolo.columns import Column

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import AccessKey


class AccessKeyRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    agent_id: UUID
    name: str
    detail: str
    token_hash: str
    token_prefix: str
    tm_expire: datetime | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class Presented(msgspec.Struct, frozen=True, kw_only=True):
    """A live (unrevoked) key as a request presents it: whose it is, and until when."""

    agent_id: UUID
    customer_id: UUID
    tm_expire: datetime | None


async def presented(token_hash: str) -> Presented | None:
    return await sql.fetchrow_as(
        Presented,
        "SELECT agent_id, customer_id, tm_expire FROM access_keys"
        " WHERE token_hash = $1 AND tm_delete IS NULL",
        token_hash,
    )


async def insert(
    customer_id: str,
    agent_id: str,
    *,
    name: str,
    detail: str,
    token_hash: str,
    token_prefix: str,
    tm_expire: datetime | None,
) -> AccessKeyRow:
    return await typed.inserted(
        AccessKeyRow,
        AccessKey(
            customer_id=customer_id,
            agent_id=agent_id,
            name=name,
            detail=detail,
            token_hash=token_hash,
            token_prefix=token_prefix,
            tm_expire=tm_expire,
        ),
    )


async def live(customer_id: str, key_id: str) -> AccessKeyRow | None:
    return await typed.live(AccessKey, AccessKeyRow, customer_id, key_id)


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[AccessKeyRow], str]:
    """The customer's live keys, newest first."""
    live = [AccessKey.customer_id == customer_id, AccessKey.tm_delete.is_null()]
    return await keyset_page_as(AccessKeyRow, AccessKey, live, page_size, page_token)


async def describe(
    key_id: UUID, name: str | None, detail: str | None, at: datetime
) -> AccessKeyRow:
    """A new name and/or detail (None keeps it)."""
    values: dict[Column | str, Any] = {AccessKey.tm_update: at}
    if name is not None:
        values[AccessKey.name] = name
    if detail is not None:
        values[AccessKey.detail] = detail
    return await typed.updated(AccessKey, AccessKeyRow, key_id, values)


async def revoke(key_id: UUID, at: datetime) -> AccessKeyRow:
    return await typed.updated(
        AccessKey, AccessKeyRow, key_id, {AccessKey.tm_delete: at, AccessKey.tm_update: at}
    )

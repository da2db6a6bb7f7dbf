"""Channel accounts as stored (`channel_accounts`): every query on them, as `AccountRow`.

The reads that every inbound message, provider hook and send makes (an account by id, by
hook URL, by address, a customer's live accounts) are plain SQL on asyncpg (app/db/sql.py);
the admin's writes and lists use the query builder. docs/ARCHITECTURE.md, "Raw SQL, and
why", lists the plain ones.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import msgspec

from app.core.pagination import keyset_page
from app.db import sql
from app.db.tables import ChannelAccount


class AccountRow(msgspec.Struct, frozen=True, kw_only=True):
    """A channel account as stored, secrets included: what drivers are handed."""

    id: uuid.UUID
    customer_id: uuid.UUID
    type: str
    name: str
    detail: str
    address: str
    settings: dict[str, Any]
    secrets: dict[str, Any]
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


def _loaded(value: Any) -> dict[str, Any]:
    # asyncpg and the query builder both hand JSONB back as text
    return json.loads(value) if isinstance(value, str) else dict(value)


def _row(record: Any) -> AccountRow:
    values = {f: record[f] for f in AccountRow.__struct_fields__}
    values["settings"] = _loaded(values["settings"])
    values["secrets"] = _loaded(values["secrets"])
    return AccountRow(**values)


async def _live_one(condition: str, *args: Any) -> AccountRow | None:
    record = await sql.fetchrow(
        f"SELECT * FROM channel_accounts WHERE {condition} AND tm_delete IS NULL", *args
    )
    return _row(record) if record is not None else None


async def live_of_customer_by_id(customer_id: str, account_id: str) -> AccountRow | None:
    return await _live_one("id = $1 AND customer_id = $2", account_id, customer_id)


async def live_by_type_and_id(account_type: str, account_id: str) -> AccountRow | None:
    return await _live_one("id = $1 AND type = $2", account_id, account_type)


async def live_by_address(account_type: str, address: str) -> AccountRow | None:
    return await _live_one(
        "type = $1 AND lower(address) = lower($2) AND address <> ''", account_type, address
    )


async def live_of_customer(customer_id: str) -> list[AccountRow]:
    """Oldest first."""
    records = await sql.fetch(
        "SELECT * FROM channel_accounts WHERE customer_id = $1 AND tm_delete IS NULL"
        " ORDER BY tm_create",
        customer_id,
    )
    return [_row(r) for r in records]


async def email_account_for_reply(room_id: str, domain: str) -> AccountRow | None:
    """The live email account of a room's customer whose address is on `domain`; the
    room's own account first when it is one of them (support@ and sales@ may share it)."""
    record = await sql.fetchrow(
        "SELECT a.* FROM conversations c JOIN channel_accounts a"
        " ON a.customer_id = c.customer_id AND a.type = 'email' AND a.tm_delete IS NULL"
        " WHERE c.id = $1 AND c.tm_delete IS NULL"
        " AND lower(split_part(a.address, '@', 2)) = $2"
        " ORDER BY (a.id = c.account_id) DESC NULLS LAST, a.tm_create LIMIT 1",
        room_id,
        domain,
    )
    return _row(record) if record is not None else None


async def insert(
    customer_id: str,
    *,
    type: str,
    name: str,
    detail: str,
    address: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    at: datetime,
) -> AccountRow:
    """Raises asyncpg.UniqueViolationError when a live account of the type has the address."""
    rows = await ChannelAccount.insert(
        ChannelAccount(
            customer_id=customer_id,
            type=type,
            name=name,
            detail=detail,
            address=address,
            settings=settings,
            secrets=secrets,
            tm_create=at,
            tm_update=at,
        )
    ).returning(*ChannelAccount.all_columns())
    return _row(rows[0])


async def update_live(
    account_id: uuid.UUID,
    *,
    name: str,
    detail: str,
    address: str,
    settings: dict[str, Any],
    secrets: dict[str, Any],
    at: datetime,
) -> AccountRow | None:
    """None when the account was deleted meanwhile. Raises asyncpg.UniqueViolationError
    like `insert`."""
    rows = (
        await ChannelAccount.update(
            {
                ChannelAccount.name: name,
                ChannelAccount.detail: detail,
                ChannelAccount.address: address,
                ChannelAccount.settings: settings,
                ChannelAccount.secrets: secrets,
                ChannelAccount.tm_update: at,
            }
        )
        .where(ChannelAccount.id == account_id, ChannelAccount.tm_delete.is_null())
        .returning(*ChannelAccount.all_columns())
    )
    return _row(rows[0]) if rows else None


async def soft_delete(account_id: uuid.UUID, at: datetime) -> AccountRow | None:
    """None when it was already deleted."""
    rows = (
        await ChannelAccount.update({ChannelAccount.tm_delete: at, ChannelAccount.tm_update: at})
        .where(ChannelAccount.id == account_id, ChannelAccount.tm_delete.is_null())
        .returning(*ChannelAccount.all_columns())
    )
    return _row(rows[0]) if rows else None


async def page_of_customer(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[AccountRow], str]:
    """The customer's live accounts, newest first (see core.pagination)."""
    rows, token = await keyset_page(
        ChannelAccount,
        [ChannelAccount.customer_id == customer_id, ChannelAccount.tm_delete.is_null()],
        page_size,
        page_token,
    )
    return [_row(r) for r in rows], token

"""Channel accounts, as the conversation services need them: find one, find the ones that
carry a channel, make one. (The admin API and setup pages build on this.)"""

from __future__ import annotations

import json
from typing import Any

from app.channels import get_driver
from app.db import sql
from app.db.tables import ChannelAccount
from app.domain.enums import ReferenceType
from app.domain.errors import InvalidInput, NotFound
from app.services.ids import parse_id


def _loaded(row: dict[str, Any]) -> dict[str, Any]:
    """Piccolo hands JSONB back as text; drivers want dicts."""
    for key in ("settings", "secrets"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


async def get_account(customer_id: str, account_id: str) -> dict[str, Any]:
    account_id = parse_id(account_id, "account_not_found", "channel account")
    row = (
        await ChannelAccount.select()
        .where(
            ChannelAccount.id == account_id,
            ChannelAccount.customer_id == customer_id,
            ChannelAccount.tm_delete.is_null(),
        )
        .first()
    )
    if row is None:
        raise NotFound("account_not_found", "There is no such channel account.")
    return _loaded(row)


async def live_accounts(customer_id: str) -> list[dict[str, Any]]:
    rows = await sql.fetch(
        "SELECT * FROM channel_accounts WHERE customer_id = $1 AND tm_delete IS NULL"
        " ORDER BY tm_create",
        customer_id,
    )
    return [_loaded(dict(r)) for r in rows]


def reference_of(account: dict[str, Any]) -> ReferenceType:
    return get_driver(account["type"]).reference_type(account)


def carries_media(account: dict[str, Any]) -> bool:
    return get_driver(account["type"]).carries_media(account)


async def create_account(
    customer_id: str,
    *,
    type: str,
    address: str,
    name: str = "",
    detail: str = "",
    settings: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        get_driver(type)
    except LookupError:
        raise InvalidInput("invalid_account_type", f"Unknown channel type {type!r}.") from None
    rows = await ChannelAccount.insert(
        ChannelAccount(
            customer_id=customer_id,
            type=type,
            address=address,
            name=name,
            detail=detail,
            settings=settings or {},
            secrets=secrets or {},
        )
    ).returning(*ChannelAccount.all_columns())
    return _loaded(rows[0])

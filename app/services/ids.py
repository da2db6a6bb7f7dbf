"""Ids in paths and bodies are UUIDs; anything else simply matches nothing."""

from __future__ import annotations

import uuid
from typing import Any

from app.domain.errors import NotFound


def parse_id(value: str, reason: str, what: str) -> str:
    """The canonical form of a UUID, or NotFound(reason) — a malformed id and a foreign
    id get the same answer, so ids cannot be probed."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(reason, f"There is no such {what}.") from None


async def live_row(table: Any, row_id: str, customer_id: str, reason: str, what: str) -> Any:
    """The customer's row of `table` with this id, unless deleted; else NotFound(reason),
    the same answer as for a malformed id or another customer's."""
    row_id = parse_id(row_id, reason, what)
    row = (
        await table.select()
        .where(table.id == row_id, table.customer_id == customer_id, table.tm_delete.is_null())
        .first()
    )
    if row is None:
        raise NotFound(reason, f"There is no such {what}.")
    return row

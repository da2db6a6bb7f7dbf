"""Ids in paths and bodies are UUIDs; anything else simply matches nothing."""

from __future__ import annotations

import uuid
from typing import TypeVar

from app.domain.errors import NotFound


def parse_id(value: str, reason: str, what: str) -> str:
    """The canonical form of a UUID, or NotFound(reason) — a malformed id and a foreign
    id get the same answer, so ids cannot be probed."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(reason, f"There is no such {what}.") from None


_Row = TypeVar("_Row")


def found(row: _Row | None, reason: str, what: str) -> _Row:
    """The row a lookup by id found; else NotFound(reason), the answer `parse_id` gives
    for a malformed id, so a missing, deleted or foreign row looks the same."""
    if row is None:
        raise NotFound(reason, f"There is no such {what}.")
    return row

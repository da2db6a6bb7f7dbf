"""The `business_hours` and `closed_replies` tables' SQL, as typed rows.

Piccolo's query builder for the admin's changes and lists (a few a day); plain SQL for
what the inbound path asks on every message of an account with the closed reply on
(`closed_reply_facts`), and for what other features ask per room (`calendar_for_room`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from piccolo.columns import Column

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import BusinessHours


class HoursRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    name: str
    time_zone: str
    periods: Any
    """jsonb: [{day, start, end}] (asyncpg gives jsonb as text; Piccolo as parsed JSON)."""
    holidays: Any
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class HoursChanges(msgspec.Struct, frozen=True, kw_only=True):
    """The columns an update sets; those left UNSET keep their value."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    time_zone: str | msgspec.UnsetType = msgspec.UNSET
    periods: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    holidays: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET


class CalendarFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A calendar's definition as stored (jsonb lists as text)."""

    time_zone: str
    periods: str
    holidays: str


class ClosedReplyFacts(CalendarFacts, frozen=True, kw_only=True):
    last_sent: datetime | None
    """When the room's latest closed reply was sent; None if never."""


def as_list(value: Any) -> list[dict[str, Any]]:
    """A jsonb list as Python, whichever driver read it."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return list(value or [])


async def insert(
    customer_id: str,
    *,
    name: str,
    time_zone: str,
    periods: list[dict[str, Any]],
    holidays: list[dict[str, Any]],
) -> HoursRow:
    return await typed.inserted(
        HoursRow,
        BusinessHours(
            customer_id=customer_id,
            name=name,
            time_zone=time_zone,
            periods=periods,
            holidays=holidays,
        ),
    )


async def live(customer_id: str, hours_id: str) -> HoursRow | None:
    return await typed.live(BusinessHours, HoursRow, customer_id, hours_id)


async def locked(customer_id: str, hours_id: str) -> HoursRow | None:
    """The live calendar, its row locked until the transaction ends: two changes of one
    calendar serialize, and a deletion waits for (and then sees) every team or customer
    that `hold` lets use it."""
    return await sql.fetchrow_as(
        HoursRow,
        f"SELECT {', '.join(HoursRow.__struct_fields__)} FROM business_hours"
        " WHERE id = $1::uuid AND customer_id = $2::uuid AND tm_delete IS NULL FOR UPDATE",
        hours_id,
        customer_id,
    )


async def hold(customer_id: str, hours_id: str) -> bool:
    """Whether the calendar is a live one of the customer, its row share-locked until the
    transaction ends: a deletion of it waits, so it never leaves a team or the customer
    pointing at a deleted calendar."""
    return (
        await sql.fetchval(
            "SELECT 1 FROM business_hours WHERE id = $1::uuid AND customer_id = $2::uuid"
            " AND tm_delete IS NULL FOR KEY SHARE",
            hours_id,
            customer_id,
        )
        is not None
    )


async def page(
    customer_id: str, page_size: int, page_token: str | None
) -> tuple[list[HoursRow], str]:
    """The customer's live calendars, newest first."""
    t = BusinessHours
    return await keyset_page_as(
        HoursRow, t, [t.customer_id == customer_id, t.tm_delete.is_null()], page_size, page_token
    )


async def update(hours_id: UUID, changes: HoursChanges, at: datetime) -> HoursRow:
    values = {**typed.values(BusinessHours, changes), BusinessHours.tm_update: at}
    return await typed.updated(BusinessHours, HoursRow, hours_id, values)


async def soft_delete(hours_id: UUID, at: datetime) -> HoursRow:
    values: dict[Column | str, Any] = {BusinessHours.tm_delete: at, BusinessHours.tm_update: at}
    return await typed.updated(BusinessHours, HoursRow, hours_id, values)


class User(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """`team`, `customer` or `sla_policy`."""
    id: str
    name: str


async def users(customer_id: str, hours_id: UUID) -> list[User]:
    """What uses the calendar: live teams, the customer (its default), live SLA policies."""
    rows = await sql.fetch(
        "SELECT 'customer' AS kind, id, name, 0 AS o FROM customers"
        " WHERE id = $1 AND business_hours_id = $2"
        " UNION ALL SELECT 'team', id, name, 1 FROM teams"
        " WHERE customer_id = $1 AND business_hours_id = $2 AND tm_delete IS NULL"
        " UNION ALL SELECT 'sla_policy', id, name, 2 FROM sla_policies"
        " WHERE customer_id = $1 AND business_hours_id = $2 AND tm_delete IS NULL"
        " ORDER BY o, name",
        customer_id,
        hours_id,
    )
    return [User(kind=r["kind"], id=str(r["id"]), name=r["name"]) for r in rows]


async def uses(customer_id: str) -> dict[str, list[User]]:
    """Every live calendar of the customer in use, with what uses it (the admin's list)."""
    rows = await sql.fetch(
        "SELECT 'customer' AS kind, id, name, business_hours_id AS hours, 0 AS o"
        " FROM customers WHERE id = $1 AND business_hours_id IS NOT NULL"
        " UNION ALL SELECT 'team', id, name, business_hours_id, 1 FROM teams"
        " WHERE customer_id = $1 AND business_hours_id IS NOT NULL AND tm_delete IS NULL"
        " UNION ALL SELECT 'sla_policy', id, name, business_hours_id, 2 FROM sla_policies"
        " WHERE customer_id = $1 AND business_hours_id IS NOT NULL AND tm_delete IS NULL"
        " ORDER BY o, name",
        customer_id,
    )
    found: dict[str, list[User]] = {}
    for r in rows:
        found.setdefault(str(r["hours"]), []).append(
            User(kind=r["kind"], id=str(r["id"]), name=r["name"])
        )
    return found


# The room's calendar: its live team's, else the customer's (a calendar in use cannot be
# deleted, so neither points at a deleted one).
_ROOM_CALENDAR = (
    "SELECT b.time_zone, b.periods::text AS periods, b.holidays::text AS holidays"
    " FROM business_hours b WHERE b.id = coalesce("
    "(SELECT business_hours_id FROM teams"
    " WHERE id = $2::uuid AND customer_id = $1::uuid AND tm_delete IS NULL),"
    " (SELECT business_hours_id FROM customers WHERE id = $1::uuid))"
    " AND b.customer_id = $1::uuid AND b.tm_delete IS NULL"
)
_CALENDAR = (
    "SELECT time_zone, periods::text AS periods, holidays::text AS holidays"
    " FROM business_hours WHERE id = $2::uuid AND customer_id = $1::uuid"
)


async def calendar_for_room(
    conn: asyncpg.Connection | None, customer_id: str, team_id: str | None
) -> CalendarFacts | None:
    args = (_ROOM_CALENDAR, customer_id, team_id)
    record = await (conn.fetchrow(*args) if conn is not None else sql.fetchrow(*args))
    return None if record is None else CalendarFacts(**record)


async def calendar_by_id(
    conn: asyncpg.Connection | None, customer_id: str, hours_id: str
) -> CalendarFacts | None:
    """A calendar of the customer by id, deleted or not (what pointed at it keeps it)."""
    args = (_CALENDAR, customer_id, hours_id)
    record = await (conn.fetchrow(*args) if conn is not None else sql.fetchrow(*args))
    return None if record is None else CalendarFacts(**record)


async def closed_reply_facts(
    customer_id: str, team_id: UUID | None, room_id: UUID
) -> ClosedReplyFacts | None:
    """The room's calendar and when its latest closed reply went, in one round trip; None
    when the room has no calendar (open around the clock)."""
    return await sql.fetchrow_as(
        ClosedReplyFacts,
        "SELECT c.*, (SELECT tm_create FROM closed_replies WHERE conversation_id = $3"
        f" ORDER BY tm_create DESC LIMIT 1) AS last_sent FROM ({_ROOM_CALENDAR}) AS c",
        customer_id,
        team_id,
        room_id,
    )


async def closed_reply_sent(
    customer_id: UUID, room_id: UUID, message_id: UUID, at: datetime
) -> None:
    await sql.execute(
        "INSERT INTO closed_replies (customer_id, conversation_id, message_id, tm_create)"
        " VALUES ($1, $2, $3, $4)",
        customer_id,
        room_id,
        message_id,
        at,
    )

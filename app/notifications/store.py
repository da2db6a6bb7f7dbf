"""Notifications as stored, as typed rows: written in the caller's service transaction
(plain SQL: an assignment notifies on the inbound path, where routing decides), read in
keyset pages per agent (Piccolo's builder, as every API list), counted for the bell
(index `notifications_unread`). Also the agents a note may mention."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from app.core.pagination import keyset_page_as
from app.db import sql
from app.db.tables import Notification
from app.domain.mentions import Mentionable

_COLUMNS = (
    "id, customer_id, agent_id, type, conversation_id, message_id, actor_id, text, read,"
    " tm_read, tm_create, tm_update"
)


class NotificationRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    agent_id: uuid.UUID
    type: str
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    text: str
    read: bool
    tm_read: datetime | None
    tm_create: datetime
    tm_update: datetime


class NewNotification(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: str
    type: str
    conversation_id: str | None
    message_id: str | None
    actor_id: str | None
    text: str
    tm_create: datetime


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """An agent a note may mention, with what decides whether it may see the room."""

    agent: Mentionable
    permission: str


async def insert(customer_id: str, items: list[NewNotification]) -> list[NotificationRow]:
    """One statement for all of them (a note that mentions five agents)."""
    if not items:
        return []
    return await sql.fetch_as(
        NotificationRow,
        "INSERT INTO notifications (id, customer_id, agent_id, type, conversation_id,"
        " message_id, actor_id, text, tm_create, tm_update)"
        " SELECT i, $1::uuid, a, t, c, m, x, tx, tm, tm"
        " FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[],"
        "             $8::text[], $9::timestamptz[]) WITH ORDINALITY"
        "      AS n(i, a, t, c, m, x, tx, tm, k)"
        f" ORDER BY k RETURNING {_COLUMNS}",
        customer_id,
        [uuid.uuid4() for _ in items],
        [i.agent_id for i in items],
        [i.type for i in items],
        [i.conversation_id for i in items],
        [i.message_id for i in items],
        [i.actor_id for i in items],
        [i.text for i in items],
        [i.tm_create for i in items],
    )


async def page(
    customer_id: str, agent_id: str, read: bool | None, page_size: int, page_token: str | None
) -> tuple[list[NotificationRow], str]:
    """The agent's notifications, newest first (`notifications_agent`, or
    `notifications_unread` for `read=false`)."""
    where = [Notification.customer_id == customer_id, Notification.agent_id == agent_id]
    if read is not None:
        where.append(Notification.read == read)
    return await keyset_page_as(NotificationRow, Notification, where, page_size, page_token)


async def mark_read(
    customer_id: str, agent_id: str, notification_id: str, at: datetime
) -> tuple[NotificationRow | None, bool]:
    """(the notification, whether this call changed it); (None, False) when the agent has
    no such notification."""
    changed = await sql.fetchrow_as(
        NotificationRow,
        "UPDATE notifications SET read = true, tm_read = $4, tm_update = $4"
        " WHERE id = $3 AND customer_id = $1 AND agent_id = $2 AND NOT read"
        f" RETURNING {_COLUMNS}",
        customer_id,
        agent_id,
        notification_id,
        at,
    )
    if changed is not None:
        return changed, True
    found = await sql.fetchrow_as(
        NotificationRow,
        f"SELECT {_COLUMNS} FROM notifications"
        " WHERE id = $3 AND customer_id = $1 AND agent_id = $2",
        customer_id,
        agent_id,
        notification_id,
    )
    return found, False


async def mark_all_read(
    customer_id: str, agent_id: str, conversation_id: str | None, at: datetime
) -> list[NotificationRow]:
    """Every unread notification of the agent (of one room, if given), now read."""
    return await sql.fetch_as(
        NotificationRow,
        "UPDATE notifications SET read = true, tm_read = $4, tm_update = $4"
        " WHERE customer_id = $1 AND agent_id = $2 AND NOT read"
        " AND ($3::uuid IS NULL OR conversation_id = $3::uuid)"
        f" RETURNING {_COLUMNS}",
        customer_id,
        agent_id,
        conversation_id,
        at,
    )


async def unread_count(agent_id: str) -> int:
    return await sql.fetchval(
        "SELECT count(*) FROM notifications WHERE agent_id = $1 AND NOT read", agent_id
    )


async def recent(agent_id: str, limit: int) -> list[NotificationRow]:
    """The newest notifications, read or not (the desk's panel)."""
    return await sql.fetch_as(
        NotificationRow,
        f"SELECT {_COLUMNS} FROM notifications WHERE agent_id = $1"
        " ORDER BY tm_create DESC, id DESC LIMIT $2",
        agent_id,
        limit,
    )


async def candidates(customer_id: str) -> list[Candidate]:
    """The customer's agents who may be mentioned: live and active (a deactivated agent
    cannot sign in to read it)."""
    rows = await sql.fetch(
        "SELECT id, username, name, permission FROM agents"
        " WHERE customer_id = $1 AND tm_delete IS NULL AND status = 'active'"
        " ORDER BY lower(coalesce(nullif(name, ''), username)), id",
        customer_id,
    )
    return [
        Candidate(
            agent=Mentionable(id=str(r["id"]), username=r["username"], name=r["name"]),
            permission=r["permission"],
        )
        for r in rows
    ]


async def agent_exists(customer_id: str, agent_id: str) -> bool:
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM agents WHERE id = $2 AND customer_id = $1", customer_id, agent_id
        )
    )


async def room_exists(customer_id: str, conversation_id: str) -> bool:
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM conversations WHERE id = $2 AND customer_id = $1",
            customer_id,
            conversation_id,
        )
    )

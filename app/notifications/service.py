"""Notifications: who is notified of what, and reading them.

Written inside the caller's service transaction, so a notification exists exactly when its
cause committed: `mentioned` by `conversations.notes` (a note's `@name`s), `assigned` by
the two places a room gets an owner — a person's assignment
(`conversations.service.update_conversation`) and routing (`routing.engine`);
`sla_warning` and `sla_breached` by the SLA clocks (`sla.tracking.alert`). Each records
`notification_created` with the notified agent as the only audience, and
`agent_id:<agent>:notification:<id>` as the topic: only that agent's sockets (desk and
API) receive it, admins' included (enums.is_private_to_audience).

Reading: a token reads its agent's own notifications; an access key acts as the admin who
made it, so it reads that admin's. Admins may list another agent's (`agent_id`), as they
may read every room; marking read is the owner's own act."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from app.core.events import record_event, transaction
from app.domain.enums import EventType, NotificationType, Permission
from app.domain.errors import BadRequest, Forbidden, NotFound
from app.domain.mentions import Mentionable, find
from app.domain.principal import Principal, may_see_room
from app.domain.resources import MentionOut, NotificationOut
from app.domain.timefmt import fmt, now
from app.domain.topics import notification_topic
from app.notifications import store
from app.notifications.store import NewNotification, NotificationRow

TEXT_MAX = 200
"""A notification's text: enough to recognise the note or the room in a list."""


def notification_out(row: NotificationRow) -> NotificationOut:
    return NotificationOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        agent_id=str(row.agent_id),
        type=NotificationType(row.type),
        conversation_id=str(row.conversation_id) if row.conversation_id else None,
        message_id=str(row.message_id) if row.message_id else None,
        actor_id=str(row.actor_id) if row.actor_id else None,
        text=row.text,
        read=row.read,
        tm_read=fmt(row.tm_read) if row.tm_read else None,
        tm_create=fmt(row.tm_create),
    )


async def _announce(event_type: EventType, rows: Iterable[NotificationRow]) -> None:
    for row in rows:
        out = notification_out(row)
        await record_event(
            out.customer_id,
            event_type,
            out,
            [notification_topic(out.agent_id, out.id)],
            [out.agent_id],
        )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


# --- writing (inside the caller's transaction) ----------------------------------------------


def room_label(name: str, last_message: str | None) -> str:
    """An assignment's text: the room's name (the customer, unless renamed) and what the
    customer last wrote."""
    return " — ".join(part for part in (name, last_message or "") if part)


async def mentionable(customer_id: str, owner_id: str | None) -> list[Mentionable]:
    """The agents a note in a room with this owner may mention: active agents who may see
    the room (admins and managers always; an agent when the room is its own or unassigned).
    Mentioning someone who could not open the room would tell them nothing they may read."""
    found = []
    for c in await store.candidates(customer_id):
        seer = Principal(
            customer_id=customer_id,
            agent_id=c.agent.id,
            username=c.agent.username,
            permission=Permission(c.permission),
            via="token",
        )
        if may_see_room(seer, owner_id):
            found.append(c.agent)
    return found


async def mentions_in(customer_id: str, owner_id: str | None, text: str) -> list[MentionOut]:
    """The mentions a note's text holds, resolved now (app/domain/mentions.py)."""
    if "@" not in text:
        return []
    agents = await mentionable(customer_id, owner_id)
    return [MentionOut(agent_id=m.agent_id, start=m.start, end=m.end) for m in find(text, agents)]


async def mentioned(
    customer_id: str,
    conversation_id: str,
    note_id: str,
    author_id: str | None,
    text: str,
    mentions: list[MentionOut],
) -> list[NotificationOut]:
    """One `mention` notification per agent the note mentions, its author aside."""
    at = now()
    targets = list(dict.fromkeys(m.agent_id for m in mentions if m.agent_id != author_id))
    rows = await store.insert(
        customer_id,
        [
            NewNotification(
                agent_id=agent_id,
                type=NotificationType.MENTION.value,
                conversation_id=conversation_id,
                message_id=note_id,
                actor_id=author_id,
                text=_short(text),
                tm_create=at,
            )
            for agent_id in targets
        ],
    )
    await _announce(EventType.NOTIFICATION_CREATED, rows)
    return [notification_out(r) for r in rows]


async def assigned(
    customer_id: str, conversation_id: str, agent_id: str, actor_id: str | None, about: str
) -> NotificationOut | None:
    """The room is now `agent_id`'s, given by `actor_id` (None: routing). Taking a room
    oneself is no news to oneself."""
    if actor_id is not None and str(actor_id) == str(agent_id):
        return None
    rows = await store.insert(
        customer_id,
        [
            NewNotification(
                agent_id=str(agent_id),
                type=NotificationType.ASSIGNED.value,
                conversation_id=str(conversation_id),
                message_id=None,
                actor_id=str(actor_id) if actor_id else None,
                text=_short(about),
                tm_create=now(),
            )
        ],
    )
    await _announce(EventType.NOTIFICATION_CREATED, rows)
    return notification_out(rows[0])


async def about_room(
    customer_id: str,
    conversation_id: str,
    agent_ids: list[str],
    type: NotificationType,
    about: str,
) -> list[NotificationOut]:
    """Something about the room the agents should look at, one notification each: an SLA
    clock near its target (`sla_warning`) or past it (`sla_breached`; app/sla/tracking.py
    decides who), or a rule's `notify` action (`automation`)."""
    at = now()
    rows = await store.insert(
        customer_id,
        [
            NewNotification(
                agent_id=agent_id,
                type=type.value,
                conversation_id=conversation_id,
                message_id=None,
                actor_id=None,
                text=_short(about),
                tm_create=at,
            )
            for agent_id in dict.fromkeys(agent_ids)
        ],
    )
    await _announce(EventType.NOTIFICATION_CREATED, rows)
    return [notification_out(r) for r in rows]


# --- reading ---------------------------------------------------------------------------------


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"{what}_not_found", f"There is no such {what}.") from None


async def _whose(principal: Principal, agent_id: str | None) -> str:
    """The agent whose list is read: the caller's own, or (admins) the one named."""
    if not agent_id or agent_id == principal.agent_id:
        return principal.agent_id
    if not principal.is_admin:
        raise Forbidden("admin_required", "Only an admin may read another agent's notifications.")
    try:
        wanted = str(uuid.UUID(agent_id))
    except ValueError:
        raise BadRequest("invalid_parameter", "agent_id must be an agent's id.") from None
    if not await store.agent_exists(principal.customer_id, wanted):
        raise NotFound("agent_not_found", "There is no such agent.")
    return wanted


async def list_notifications(
    principal: Principal,
    *,
    read: bool | None = None,
    agent_id: str | None = None,
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[NotificationOut], str]:
    whose = await _whose(principal, agent_id)
    rows, token = await store.page(principal.customer_id, whose, read, page_size, page_token)
    return [notification_out(r) for r in rows], token


async def read_one(principal: Principal, notification_id: str) -> NotificationOut:
    """Mark one of the caller's notifications read (again: no change, no event)."""
    wanted = _uuid(notification_id, "notification")
    async with transaction():
        row, changed = await store.mark_read(
            principal.customer_id, principal.agent_id, wanted, now()
        )
        if row is None:
            raise NotFound("notification_not_found", "There is no such notification.")
        if changed:
            await _announce(EventType.NOTIFICATION_UPDATED, [row])
    return notification_out(row)


async def read_all(principal: Principal, conversation_id: str | None = None) -> int:
    """Mark every unread notification of the caller read (of one room, if given): one
    `notification_updated` per notification that changed. How many changed."""
    if conversation_id is not None and not await store.room_exists(
        principal.customer_id, conversation_id
    ):
        raise NotFound("conversation_not_found", "There is no such conversation.")
    async with transaction():
        rows = await store.mark_all_read(
            principal.customer_id, principal.agent_id, conversation_id, now()
        )
        await _announce(EventType.NOTIFICATION_UPDATED, rows)
    return len(rows)


async def unread_count(principal: Principal) -> int:
    return await store.unread_count(principal.agent_id)


async def recent(principal: Principal, limit: int = 20) -> list[NotificationOut]:
    return [notification_out(r) for r in await store.recent(principal.agent_id, limit)]

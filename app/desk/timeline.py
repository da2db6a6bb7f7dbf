"""A room's timeline for the desk: messages on every channel, internal notes and system
lines, in one column, loaded upward page by page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.conversations import activities
from app.conversations import message_store as messages_store
from app.conversations import service as conversations
from app.conversations.messages import message_out
from app.domain.enums import MESSAGE_EVENTS, EventType
from app.domain.errors import BadRequest
from app.domain.principal import Principal
from app.domain.resources import ActivityOut, MessageOut
from app.domain.timefmt import fmt, parse
from app.people import agents


class Item(msgspec.Struct, kw_only=True):
    kind: str
    """`message`, `note` or `system`."""
    tm: datetime
    message: MessageOut | None = None
    activity: ActivityOut | None = None
    author: str | None = None
    """The agent who wrote a note or caused a system line."""
    agent_id: str | None = None
    """The agent who sent an outbound message."""
    agent_name: str | None = None
    """Its display name, shown on the bubble."""


async def timeline(
    principal: Principal, conversation_id: str, *, before: str | None = None, limit: int = 50
) -> tuple[list[Item], str]:
    """Up to `limit` items before `before` (a token from an earlier page), oldest first,
    and the token for the page before them ("" when this is the beginning)."""
    room = await conversations.get_room(principal, conversation_id)
    until = None
    if before:
        try:
            until = parse(before)
        except ValueError:
            raise BadRequest("invalid_cursor", "That 'older messages' link is not valid.") from None
    message_rows = await messages_store.before_in_room(room.id, until, limit + 1)
    activity_rows = await activities.for_room(room.id, until, limit + 1)
    items = [Item(kind="message", tm=r.tm_create, message=message_out(r)) for r in message_rows]
    items += [
        Item(kind=r.kind, tm=r.tm_create, activity=activities.activity_out(r))
        for r in activity_rows
    ]
    items.sort(key=lambda i: i.tm, reverse=True)
    more = len(items) > limit
    items = items[:limit]
    names = await agents.names(
        principal.customer_id,
        [i.activity.agent_id for i in items if i.activity]
        + [i.message.agent_id for i in items if i.message],
    )
    for item in items:
        if item.activity and item.activity.agent_id:
            item.author = names.get(item.activity.agent_id)
        if item.message and item.message.agent_id:
            _attribute(item, names)
    items.reverse()
    return items, (fmt(items[0].tm) if more and items else "")


async def item_for(event_type: str, data: dict[str, Any]) -> Item | None:
    """The timeline item a live event carries, if any."""
    if event_type in MESSAGE_EVENTS:
        message = msgspec.convert(data, MessageOut)
        return await message_item(message)
    if event_type == EventType.CONVERSATION_ACTIVITY_CREATED:
        activity = msgspec.convert(data, ActivityOut)
        names = await agents.names(activity.customer_id, [activity.agent_id])
        return Item(
            kind=activity.kind,
            tm=parse(activity.tm_create),
            activity=activity,
            author=names.get(activity.agent_id or ""),
        )
    return None


def _attribute(item: Item, names: dict[str, str]) -> None:
    assert item.message is not None
    item.agent_id = item.message.agent_id
    item.agent_name = names.get(item.agent_id or "")


async def message_item(message: MessageOut) -> Item:
    """A message's timeline item, with the name of the agent who sent it."""
    item = Item(kind="message", tm=parse(message.tm_create), message=message)
    if message.agent_id:
        _attribute(item, await agents.names(message.customer_id, [message.agent_id]))
    return item

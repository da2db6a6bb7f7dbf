"""The desk's inbox: rooms by last activity with this agent's unread counts, and read
marks. (The API's list is newest-created first; the desk wants what moved last.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from app.db.tables import Conversation, Message, ReadMark
from app.domain.errors import BadRequest
from app.domain.principal import Principal, may_see_room
from app.domain.resources import ConversationOut
from app.domain.timefmt import fmt, now, parse
from app.services import conversations
from app.services.agents import names as agent_names

VIEWS = ("mine", "unassigned", "all")


class InboxFilter(msgspec.Struct, kw_only=True, frozen=True):
    view: str = "all"
    status: str | None = None
    channel: str | None = None
    tag: str | None = None
    q: str | None = None

    def params(self, **changes: str) -> dict[str, str]:
        """As query parameters (for links that keep the view and filters)."""
        params = {
            "view": self.view,
            "status": self.status or "",
            "channel": self.channel or "",
            "tag": self.tag or "",
            "q": self.q or "",
        }
        params.update(changes)
        return params


class InboxRow(msgspec.Struct, kw_only=True):
    room: ConversationOut
    unread: int
    owner_name: str | None
    tm_activity: datetime


def default_view(principal: Principal) -> str:
    return "all" if principal.sees_all_conversations else "mine"


def _conditions(principal: Principal, f: InboxFilter) -> list[Any]:
    where = conversations.visible(principal)
    if f.view == "mine":
        where.append(Conversation.owner_id == principal.agent_id)
    elif f.view == "unassigned":
        where.append(Conversation.owner_id.is_null())
    if f.status:
        where.append(Conversation.status == f.status)
    if f.channel:
        # a room is on a channel when any live participant uses it
        where.append(
            WhereRaw(
                "EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = conversations.id"
                " AND p.tm_delete IS NULL AND p.type = {})",
                f.channel,
            )
        )
    if f.tag:
        where.append(WhereRaw("tags @> {}::text[]", [f.tag]))
    if f.q and f.q.strip():
        where.append(conversations.search_condition(f.q.strip(), principal.customer_id))
    return where


def matches(principal: Principal, f: InboxFilter, room: ConversationOut) -> bool | None:
    """Does a room (as pushed live) belong in this inbox view? None: cannot tell without
    the database (a search), so only update it if it is already shown."""
    if room.tm_delete != "9999-01-01 00:00:00.000000":
        return False
    if not may_see_room(principal, room.owner_id):
        return False
    if f.view == "mine" and room.owner_id != principal.agent_id:
        return False
    if f.view == "unassigned" and room.owner_id is not None:
        return False
    if f.status and room.status != f.status:
        return False
    if f.channel and f.channel not in {p.type for p in room.participants}:
        return False
    if f.tag and f.tag not in room.tags:
        return False
    if f.q and f.q.strip():
        return None
    return True


def _token(row: dict[str, Any]) -> str:
    return f"{fmt(row['tm_activity'])}|{row['id']}"


async def inbox(
    principal: Principal, f: InboxFilter, *, after: str | None = None, limit: int = 50
) -> tuple[list[InboxRow], str]:
    """One page of rooms, most recent activity first; the token for "load more"."""
    where = _conditions(principal, f)
    if after:
        try:
            tm, room_id = after.split("|", 1)
            where.append(WhereRaw("(tm_activity, id) < ({}, {}::uuid)", parse(tm), room_id))
        except ValueError:
            raise BadRequest("invalid_cursor", "That 'load more' link is not valid.") from None
    rows = await (
        Conversation.select()
        .where(*where)
        .order_by(Conversation.tm_activity, ascending=False)
        .order_by(Conversation.id, ascending=False)
        .limit(limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    people = await conversations.live_participants([r["id"] for r in rows])
    unread = await unread_counts(principal.agent_id, [r["id"] for r in rows])
    names = await agent_names(principal.customer_id, [r["owner_id"] for r in rows])
    result = [
        InboxRow(
            room=conversations.conversation_out(r, people[str(r["id"])]),
            unread=unread.get(str(r["id"]), 0),
            owner_name=names.get(str(r["owner_id"])) if r["owner_id"] else None,
            tm_activity=r["tm_activity"],
        )
        for r in rows
    ]
    return result, (_token(rows[-1]) if more else "")


async def unread_counts(agent_id: str, room_ids: list[Any]) -> dict[str, int]:
    """Inbound messages after the agent's read mark, per room (all of them if none)."""
    return {room: n for (room, _), n in (await _unread(room_ids, [agent_id])).items()}


async def unread_for_agents(room_id: str, agent_ids: list[str]) -> dict[str, int]:
    """One room's unread count for many agents at once (for live pushes)."""
    return {agent: n for (_, agent), n in (await _unread([room_id], agent_ids)).items()}


async def _unread(room_ids: list[Any], agent_ids: list[Any]) -> dict[tuple[str, str], int]:
    """{(room, agent): the room's inbound messages after the agent's read mark (all of
    them when the agent has none)} for every room and agent given."""
    if not room_ids or not agent_ids:
        return {}
    rows = await Message.raw(
        "SELECT c.id AS room, a.id AS agent, (SELECT count(*) FROM messages m"
        "   WHERE m.conversation_id = c.id AND m.direction = 'inbound'"
        "   AND m.tm_create > coalesce(r.tm_read, '-infinity')) AS unread"
        " FROM unnest({}::uuid[]) AS c(id) CROSS JOIN unnest({}::uuid[]) AS a(id)"
        " LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.agent_id = a.id",
        [str(r) for r in room_ids],
        [str(a) for a in agent_ids],
    )
    return {(str(r["room"]), str(r["agent"])): r["unread"] for r in rows}


async def mark_read(principal: Principal, room_id: str) -> None:
    await ReadMark.raw(
        "INSERT INTO conversation_reads (customer_id, agent_id, conversation_id, tm_read)"
        " VALUES ({}, {}, {}, {}) ON CONFLICT (agent_id, conversation_id)"
        " DO UPDATE SET tm_read = greatest(conversation_reads.tm_read, excluded.tm_read)",
        principal.customer_id,
        principal.agent_id,
        room_id,
        now(),
    )

"""The desk's inbox: rooms by last activity with this agent's unread counts, and read
marks. (The API's list is newest-created first; the desk wants what moved last.)"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from app.conversations import service as conversations
from app.conversations import store as conversations_store
from app.conversations.store import RoomFilter, RoomRow
from app.domain.enums import PRIORITY_RANK
from app.domain.errors import BadRequest
from app.domain.principal import Principal, may_see_room
from app.domain.resources import ConversationOut, TeamOut
from app.domain.timefmt import fmt, now, parse
from app.people.agents import names as agent_names
from app.routing import teams as teams_service

VIEWS = ("mine", "teams", "unassigned", "all", "snoozed")
"""`snoozed`: the snoozed rooms the agent may see; the others leave them out."""
SORTS = ("activity", "priority", "sla")
SLA_FILTERS = ("breached", "warning")


class InboxFilter(msgspec.Struct, kw_only=True, frozen=True):
    view: str = "all"
    status: str | None = None
    channel: str | None = None
    tag: str | None = None
    q: str | None = None
    team: str | None = None
    """One team's rooms (a team id)."""
    priority: str | None = None
    sla: str | None = None
    """Rooms whose most pressing SLA clock is `breached` or `warning`."""
    sort: str = "activity"
    """`activity` (latest first), `priority` (urgent first, then latest) or `sla`
    (breaching soonest first)."""
    my_teams: tuple[str, ...] = ()
    """The agent's teams (the "My teams" view shows their rooms); not a parameter."""

    def params(self, **changes: str) -> dict[str, str]:
        """As query parameters (for links that keep the view and filters)."""
        params = {
            "view": self.view,
            "status": self.status or "",
            "channel": self.channel or "",
            "tag": self.tag or "",
            "q": self.q or "",
            "team": self.team or "",
            "priority": self.priority or "",
            "sla": self.sla or "",
            "sort": "" if self.sort == "activity" else self.sort,
        }
        params.update(changes)
        return params


class InboxRow(msgspec.Struct, kw_only=True):
    room: ConversationOut
    unread: int
    owner_name: str | None
    tm_activity: datetime
    team_name: str | None = None


def default_view(principal: Principal) -> str:
    return "all" if principal.sees_all_conversations else "mine"


def _rooms(principal: Principal, f: InboxFilter) -> RoomFilter:
    return conversations.visible(
        principal,
        owner_id=principal.agent_id if f.view == "mine" else None,
        unassigned=f.view == "unassigned",
        status=f.status or None,
        # a room is on a channel when any live participant uses it
        channel=f.channel or None,
        tag=f.tag or None,
        q=f.q.strip() if f.q and f.q.strip() else None,
        team_id=f.team or None,
        priority=f.priority or None,
        team_ids=f.my_teams if f.view == "teams" else None,
        snoozed=f.view == "snoozed",
        sla=f.sla or None,
    )


def matches(principal: Principal, f: InboxFilter, room: ConversationOut) -> bool | None:
    """Does a room (as pushed live) belong in this inbox view? None: cannot tell without
    the database (a search), so only update it if it is already shown."""
    if room.tm_delete != "9999-01-01 00:00:00.000000":
        return False
    if not may_see_room(principal, room.owner_id):
        return False
    if (f.view == "snoozed") != is_snoozed(room):
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
    if f.view == "teams" and room.team_id not in f.my_teams:
        return False
    if f.team and room.team_id != f.team:
        return False
    if f.priority and room.priority != f.priority:
        return False
    if f.sla and (room.sla is None or room.sla.status != f.sla):
        return False
    if f.q and f.q.strip():
        return None
    return True


def is_snoozed(room: ConversationOut) -> bool:
    return room.snoozed_until is not None or room.snooze_until_reply


def _token(row: RoomRow, f: InboxFilter) -> str:
    if f.sort == "sla":
        due = fmt(row.sla_due_at) if row.sla_due_at else "none"
        return f"{due}|{fmt(row.tm_activity)}|{row.id}"
    if f.sort == "priority":
        return (
            f"{PRIORITY_RANK.get(row.priority, len(PRIORITY_RANK))}|{fmt(row.tm_activity)}|{row.id}"
        )
    return f"{fmt(row.tm_activity)}|{row.id}"


async def inbox(
    principal: Principal, f: InboxFilter, *, after: str | None = None, limit: int = 50
) -> tuple[list[InboxRow], str]:
    """One page of rooms, most recent activity first; the token for "load more"."""
    rooms = _rooms(principal, f)
    try:
        if f.sort == "sla":
            due_after = None
            if after:
                due, tm, room_id = after.split("|", 2)
                due_after = (
                    None if due == "none" else parse(due),
                    parse(tm),
                    str(uuid.UUID(room_id)),
                )
            rows = await conversations_store.page_by_sla(rooms, due_after, limit + 1)
        elif f.sort == "priority":
            ranked = None
            if after:
                rank, tm, room_id = after.split("|", 2)
                ranked = (int(rank), parse(tm), str(uuid.UUID(room_id)))
            rows = await conversations_store.page_by_priority(rooms, ranked, limit + 1)
        else:
            cursor = None
            if after:
                tm, room_id = after.split("|", 1)
                cursor = (parse(tm), str(uuid.UUID(room_id)))
            rows = await conversations_store.page_by_activity(rooms, cursor, limit + 1)
    except ValueError:
        raise BadRequest("invalid_cursor", "That 'load more' link is not valid.") from None
    more = len(rows) > limit
    rows = rows[:limit]
    people = await conversations_store.live_participants([r.id for r in rows])
    unread = await unread_counts(principal.agent_id, [r.id for r in rows])
    names = await agent_names(principal.customer_id, [r.owner_id for r in rows])
    positions = await conversations_store.queue_positions(rows)
    teams = await conversations_store.team_names(principal.customer_id, [r.team_id for r in rows])
    result = [
        InboxRow(
            room=conversations.conversation_out(r, people[str(r.id)], positions.get(str(r.id))),
            unread=unread.get(str(r.id), 0),
            owner_name=names.get(str(r.owner_id)) if r.owner_id else None,
            tm_activity=r.tm_activity,
            team_name=teams.get(str(r.team_id)) if r.team_id else None,
        )
        for r in rows
    ]
    return result, (_token(rows[-1], f) if more else "")


async def unread_counts(agent_id: str, room_ids: list[uuid.UUID]) -> dict[str, int]:
    """Inbound messages after the agent's read mark, per room (all of them if none)."""
    return await conversations_store.unread_counts(agent_id, room_ids)


async def unread_for_agents(room_id: str, agent_ids: list[str]) -> dict[str, int]:
    """One room's unread count for many agents at once (for live pushes)."""
    return await conversations_store.unread_for_agents(room_id, agent_ids)


async def mark_read(principal: Principal, room_id: str) -> None:
    await conversations_store.mark_read(principal.customer_id, principal.agent_id, room_id, now())


async def queue_lengths(principal: Principal, team_ids: list[str]) -> dict[str, int]:
    """How many rooms wait in each of these teams' queues (the inbox's team filter)."""
    return await queue_lengths_of(principal.customer_id, team_ids)


async def queue_lengths_of(customer_id: str, team_ids: list[str]) -> dict[str, int]:
    return await conversations_store.queue_lengths(customer_id, team_ids)


async def team_names(customer_id: str, team_ids: list[Any]) -> dict[str, str]:
    return await conversations_store.team_names(customer_id, team_ids)


async def all_teams(principal: Principal) -> list[TeamOut]:
    """The customer's teams by name (any agent may read them): the inbox's team filter,
    the room panel's team choice."""
    team_list, token = await teams_service.list_teams(principal)
    while token:
        more, token = await teams_service.list_teams(principal, page_token=token)
        team_list.extend(more)
    return sorted(team_list, key=lambda t: t.name.lower())

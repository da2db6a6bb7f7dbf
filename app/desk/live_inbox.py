"""What a conversation event means for a desk page (the Inbox): the room's row moves to the
top, changes in place or leaves the agent's list; the agent's unread badge changes; in the
open room, messages, notes and system lines are appended or change their delivery state,
the header and side panel follow assignments and closes, and a room that goes to someone
the agent may not follow is locked. And "also viewing".

Each function turns an event into the fragments one desk connection sends (the templates
render them with `oob=True`). Work that is the same for every agent (loading the room,
rendering its row or a timeline line) goes through the hub's shared work: once per event
per process.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from app.conversations import service as conversations
from app.core.events import StoredEvent
from app.csat import service as csat
from app.desk import inbox, timeline
from app.desk.live_page import LivePage
from app.desk.render import lock, remove, render
from app.domain.enums import EventType
from app.domain.principal import may_see_room
from app.domain.resources import ConversationOut
from app.people import agents

ROOM_EVENTS = frozenset(
    {
        EventType.CONVERSATION_CREATED,
        EventType.CONVERSATION_UPDATED,
        EventType.CONVERSATION_CLOSED,
        EventType.CONVERSATION_DELETED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_PARTICIPANT_ADDED,
        EventType.CONVERSATION_PARTICIPANT_REMOVED,
        EventType.CONVERSATION_ASSIGNED,
        EventType.CONVERSATION_SNOOZED,
        EventType.CONVERSATION_WOKE,
        EventType.CONVERSATION_MERGED,
    }
)
CHROME_EVENTS = ROOM_EVENTS | {EventType.CONVERSATION_SLA_UPDATED}
"""Events after which the open room's header and side panel are rendered again (the SLA
summary moves with messages and the worker: `conversation_sla_updated`)."""
QUEUE_EVENTS = frozenset(
    {
        EventType.CONVERSATION_CREATED,
        EventType.CONVERSATION_UPDATED,
        EventType.CONVERSATION_CLOSED,
        EventType.CONVERSATION_DELETED,
        EventType.CONVERSATION_ASSIGNED,
    }
)
"""Events after which a team's queue may be longer or shorter."""
ITEM_EVENTS = frozenset(
    {
        EventType.CONVERSATION_MESSAGE_CREATED,
        EventType.CONVERSATION_MESSAGE_UPDATED,
        EventType.CONVERSATION_ACTIVITY_CREATED,
        EventType.CONVERSATION_MESSAGE_SCHEDULED,  # at the end: it sorts at its future time
    }
)
MOVES_TO_TOP = frozenset(
    {
        EventType.CONVERSATION_CREATED,
        EventType.CONVERSATION_MESSAGE_CREATED,
        EventType.CONVERSATION_WOKE,  # a woken room is back at the top, unread
    }
)


def viewers(names: dict[str, str], agent_id: str) -> str:
    """The "also viewing" line: the others in the room (presence, not an event)."""
    others = sorted(n for a, n in names.items() if a != agent_id)
    return render("partials/viewers.html", others=others, oob=True)


async def fragments(desk: LivePage, event: StoredEvent, data: dict[str, Any]) -> list[str]:
    room_id = data.get("id") if event.type in ROOM_EVENTS else data.get("conversation_id")
    if not room_id:
        return []
    shared = desk.hub.shared
    out: list[str] = []
    parts = await shared.get(
        ("row", event.customer_id, event.id), lambda: _row_parts(event, room_id)
    )
    viewing = desk.room_id == room_id
    if parts is not None:
        room, row = parts
        row_fragments, shown = await _row_fragments(desk, event, room, row)
        out += row_fragments
        if shown:  # the shared row says 0 unread; this agent's count goes on top of it
            out.append(await _unread_fragment(desk, event, room_id, viewing))
        if event.type in QUEUE_EVENTS and room.team_id and room.team_id in _shown_teams(desk):
            out.append(await _queue_fragment(desk, event))
    if viewing:
        if event.type in ITEM_EVENTS:
            # new: at the end, dropping a copy the page may already show (rendered while
            # this event committed); changed: in place, shown only if loaded
            place = "swap" if event.type == EventType.CONVERSATION_MESSAGE_UPDATED else "end"
            html = await shared.get(
                ("item", event.customer_id, event.id), lambda: _item_html(event, data, place)
            )
            if html:
                out.append(html)
            if event.type == EventType.CONVERSATION_MESSAGE_CREATED:
                await inbox.mark_read(desk.principal, room_id)
        if event.type in CHROME_EVENTS and parts is not None:
            if may_see_room(desk.principal, parts[0].owner_id):
                out.append(await _chrome(desk, parts[0]))
            else:
                out += await _room_lost(desk, parts[0])
    return out


async def _row_parts(event: StoredEvent, room_id: str) -> tuple[ConversationOut, Any] | None:
    """The room as it is now, and its inbox row (without this agent's unread count)."""
    room_row = await conversations.room_by_id(event.customer_id, room_id)
    if room_row is None:
        return None
    room = await conversations.room_out(room_row)
    names = await agents.names(event.customer_id, [room.owner_id])
    teams = await inbox.team_names(event.customer_id, [room.team_id])
    row = inbox.InboxRow(
        room=room,
        unread=0,
        owner_name=names.get(room.owner_id or ""),
        tm_activity=room_row.tm_activity,
        team_name=teams.get(room.team_id or ""),
    )
    return room, row


async def _row_fragments(
    desk: LivePage, event: StoredEvent, room: ConversationOut, row: Any
) -> tuple[list[str], bool]:
    """The row's fragment that puts the room where it belongs in this socket's inbox view,
    and whether it is shown there."""
    fits = inbox.matches(desk.principal, desk.view, room)
    if fits is False:
        return [remove(f"row-{room.id}")], False
    if fits is None:  # a search view: only refresh a row that is already shown
        place = "swap"
    elif event.type in MOVES_TO_TOP:  # new activity: to the top
        place = "top"
    else:  # a change: in place; a row the page lacks (just assigned to me) goes on top
        place = "swap-or-top"
    current = desk.room_id == room.id
    html = await desk.hub.shared.get(
        ("rowhtml", event.customer_id, event.id, current, place),
        lambda: _row_html(event, row, current, place),
    )
    return [html], True


async def _row_html(event: StoredEvent, row: Any, current: bool, place: str) -> str:
    return render(
        "partials/inbox_row.html",
        row=row,
        current_id=row.room.id if current else None,
        fresh=event.type in MOVES_TO_TOP,
        oob=True,
        place=place,
    )


def _shown_teams(desk: LivePage) -> tuple[str, ...]:
    """The teams whose queue this desk's inbox view counts (a team filter, or My teams)."""
    view = desk.view
    if view.team:
        return (view.team,)
    return view.my_teams if view.view == "teams" else ()


async def _queue_fragment(desk: LivePage, event: StoredEvent) -> str:
    """The queue count of the teams this view shows, as it is now (once per event and
    set of teams per process)."""
    shown = _shown_teams(desk)
    return await desk.hub.shared.get(
        ("queue", event.customer_id, event.id, shown), lambda: _queue_html(event, shown)
    )


async def _queue_html(event: StoredEvent, shown: tuple[str, ...]) -> str:
    lengths = await inbox.queue_lengths_of(event.customer_id, list(shown))
    names = await inbox.team_names(event.customer_id, list(shown))
    counts = {t: lengths.get(t, 0) for t in shown if t in names}
    return render("partials/queue_count.html", queue_lengths=counts, team_names=names, oob=True)


async def _unread_fragment(desk: LivePage, event: StoredEvent, room_id: str, viewing: bool) -> str:
    shared = desk.hub.shared
    counts = await shared.get(
        ("unread", event.customer_id, event.id), lambda: _unread(desk, event, room_id)
    )
    count = 0 if viewing else counts.get(desk.agent_id, 0)
    return await shared.get(
        ("unreadhtml", event.customer_id, event.id, count), lambda: _unread_html(room_id, count)
    )


async def _unread(desk: LivePage, event: StoredEvent, room_id: str) -> dict[str, int]:
    """Every desk-connected agent's count, in one query."""
    desks = desk.hub.connections(event.customer_id, kind="desk")
    agent_ids = sorted({c.principal.agent_id for c in desks})
    return await inbox.unread_for_agents(room_id, agent_ids)


async def _unread_html(room_id: str, count: int) -> str:
    row = SimpleNamespace(room=SimpleNamespace(id=room_id), unread=count)
    return render("partials/unread.html", row=row, oob=True)


async def _item_html(event: StoredEvent, data: dict[str, Any], place: str) -> str:
    item = await timeline.item_for(event.type, data)
    if item is None:
        return ""
    return render("partials/timeline_item.html", item=item, oob=True, place=place)


async def _chrome(desk: LivePage, room: ConversationOut) -> str:
    """The open room's header and side panel; a deleted room is locked."""
    if room.tm_delete != "9999-01-01 00:00:00.000000":
        return render("partials/room_gone.html", oob=True) + lock("composer", "context")
    names = await agents.names(desk.principal.customer_id, [room.owner_id])
    return render(
        "partials/room_chrome.html",
        room=room,
        principal=desk.principal,
        owner_name=names.get(room.owner_id or ""),
        directory=await agents.directory(desk.principal),
        teams=await inbox.all_teams(desk.principal),
        csat=await csat.response_of_room(room.id) if room.csat is not None else None,
        oob=True,
    )


async def _room_lost(desk: LivePage, room: ConversationOut) -> list[str]:
    """The open room went to someone this agent may not follow: say so at once, lock the
    composer and the side panel (the text typed stays), and stop viewing it — "also
    viewing" drops this agent for the others, and nothing more of the room is pushed
    here."""
    names = await agents.names(desk.principal.customer_id, [room.owner_id])
    who = names.get(room.owner_id or "") or "someone else"
    await desk.leave_room()
    return [
        render("partials/room_lost.html", who=who, oob=True),
        render("partials/viewers.html", others=[], oob=True),
        lock("composer", "context"),
    ]

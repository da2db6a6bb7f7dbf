"""What a talk event means for a desk page: the nav rail's unread dot everywhere; on the
Talk page, the talk's row in the list (moved to the top, refreshed, or gone) and, for the
open talk, its messages, reactions and threads, and its header — or, when the agent is no
longer in it, a locked talk.

Each function turns an event into the fragments one desk connection sends (the templates
render them with `oob=True`); what is the same for every agent is worked out once per
event per process through the hub's shared work.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec

from app.core.events import StoredEvent
from app.desk import talk_views
from app.desk.live_page import LivePage
from app.desk.render import lock, remove, render, render_small
from app.desk.talk_pages import message_fragments
from app.domain.enums import EventType
from app.domain.errors import ServiceError
from app.domain.resources import TalkMessageOut
from app.people import agents
from app.talk import messages as talk_messages

TALK_MOVES_TO_TOP = frozenset(
    {EventType.TALK_CREATED, EventType.TALK_MESSAGE_CREATED, EventType.TALK_PARTICIPANT_JOINED}
)
"""Talk events that put the talk's row at the top of the list (new activity, or a talk
that just appeared for the agent); the others refresh the row where it is."""
TALK_MESSAGE_EVENTS = frozenset(
    {
        EventType.TALK_MESSAGE_CREATED,
        EventType.TALK_MESSAGE_UPDATED,
        EventType.TALK_MESSAGE_DELETED,
        EventType.TALK_REACTION_ADDED,
        EventType.TALK_REACTION_REMOVED,
    }
)


async def fragments(desk: LivePage, event: StoredEvent, data: dict[str, Any]) -> list[str]:
    # talk events carry a talk (its id), a message or a participant (their talk_id)
    if event.type in (EventType.TALK_CREATED, EventType.TALK_UPDATED, EventType.TALK_CLOSED):
        talk_id = data.get("id")
    else:
        talk_id = data.get("talk_id")
    if not talk_id:
        return []
    shared = desk.hub.shared
    state = await shared.get(
        ("talk", event.customer_id, event.id),
        lambda: talk_views.talk_state(event.customer_id, talk_id),
    )
    talk, names, last = state if state else (None, {}, None)
    member = (
        talk is not None
        and not talk_views.is_deleted(talk)
        and desk.agent_id in talk_views.active_agents(talk)
    )
    viewing = member and desk.talk_id == talk_id
    if viewing and event.type == EventType.TALK_MESSAGE_CREATED and data.get("type") == "normal":
        with contextlib.suppress(ServiceError):  # the open talk stays read
            await talk_messages.mark_read(desk.principal, talk_id)
    counts, totals = await shared.get(
        ("talkunread", event.customer_id, event.id), lambda: _talk_unread(event, talk_id)
    )
    mine = counts.get(desk.agent_id, 0)
    # the open talk counts as read (the two counts may straddle this socket's mark_read)
    total = max(0, totals.get(desk.agent_id, 0) - (mine if viewing else 0))
    out = [render_small("partials/talk_dot.html", talk_unread=total, oob=True)]
    if desk.page != "talks":
        return out
    if not member:
        out.append(remove(f"talkrow-{talk_id}"))
        if desk.talk_id == talk_id:
            out += _talk_gone(talk)
        return out
    row = talk_views.make_row(talk, names, desk.agent_id, 0 if viewing else mine, last)
    # new activity to the top; a change in place (a row the page lacks goes on top)
    place = "top" if event.type in TALK_MOVES_TO_TOP else "swap-or-top"
    out.append(
        render(
            "partials/talk_row.html",
            r=row,
            current_id=desk.talk_id,
            oob=True,
            place=place,
        )
    )
    if not viewing:
        return out
    if event.type in TALK_MESSAGE_EVENTS:
        message, message_names = await shared.get(
            ("talkmsg", event.customer_id, event.id), lambda: _talk_message(event, data)
        )
        new = event.type == EventType.TALK_MESSAGE_CREATED
        out.append(message_fragments(message, message_names, desk.principal, new=new))
    else:
        out.append(
            render(
                "partials/talk_header.html",
                row=row,
                principal=desk.principal,
                directory=await agents.directory(desk.principal),
                oob=True,
            )
        )
    return out


def _talk_gone(talk: Any) -> list[str]:
    """The open talk was deleted or the agent left it: like a room taken away, the
    composers lock, a draft stays readable."""
    if talk and talk_views.is_deleted(talk):
        why = "This talk was deleted"
    else:
        why = "You are no longer in this talk"
    return [
        render("partials/talk_gone.html", why=why, oob=True),
        lock("talk-composer", "thread-composer"),
    ]


async def _talk_unread(event: StoredEvent, talk_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Every participant's unread count in the talk, and each audience member's total
    over all talks (the nav dot): two queries per event per process, not per socket."""
    by_agent = await talk_messages.unread_by_agent(event.customer_id, talk_id)
    totals = await talk_views.unread_totals(event.customer_id, event.audience)
    return by_agent, totals


async def _talk_message(event: StoredEvent, data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    message = msgspec.convert(data, TalkMessageOut)
    return message, await talk_views.names_for(event.customer_id, [message])

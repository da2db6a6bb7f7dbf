"""`/desk/ws`: the desk's live connection (htmx ws extension).

The server pushes HTML fragments; every top-level element is swapped out-of-band by id:
inbox rows move to the top (or leave a filtered view), unread badges change, messages and
notes append to the open room, delivery states tick, the room's header and side panel
follow assignments and closes, and "also viewing" shows who else is in the room.

The page says up to which event it was rendered (`since`); the socket replays from there,
and every push carries the new cursor (`#desk-cursor`), which the page's script puts into
the URL when the extension reconnects — so after a dropped connection the page catches
up on exactly what it missed. Work that is the same for every agent (loading a room,
rendering its row or a message) is done once per event per process and shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.domain.errors import ServiceError
from app.domain.principal import Principal, may_see_room
from app.domain.resources import ConversationOut, TalkMessageOut
from app.domain.topics import parse_event_id
from app.realtime.api_ws import origin_ok
from app.realtime.connection import EventConnection, close_quietly, send_frame
from app.realtime.hub import Hub
from app.realtime.presence import Presence
from app.services import (
    activities,
    agents,
    conversations,
    inbox,
    talk_messages,
    talk_views,
    timeline,
)
from app.services import talks as talk_service
from app.services.auth import authenticate_token
from app.services.events import StoredEvent
from app.settings import Settings
from app.web.render import end, lock, placed, remove, render, swap, swap_or_top, top
from app.web.talk_desk import message_fragments

log = logging.getLogger(__name__)

ROOM_EVENTS = {
    "conversation_created",
    "conversation_updated",
    "conversation_closed",
    "conversation_deleted",
    "conversation_participant_added",
    "conversation_participant_removed",
}
ITEM_EVENTS = {
    "conversation_message_created",
    "conversation_message_updated",
    "conversation_activity_created",
}
MOVES_TO_TOP = {"conversation_created", "conversation_message_created"}
TALK_MOVES_TO_TOP = {"talk_created", "talk_message_created", "talk_participant_joined"}
"""Talk events that put the talk's row at the top of the list (new activity, or a talk
that just appeared for the agent); the others refresh the row where it is."""
TALK_MESSAGE_EVENTS = {
    "talk_message_created",
    "talk_message_updated",
    "talk_message_deleted",
    "talk_reaction_added",
    "talk_reaction_removed",
}
_NO_CSRF = {"csrf_token": lambda: ""}  # pushed forms use htmx's x-csrftoken header


class _Shared:
    """Per-process cache of what one event renders to, computed once for all sockets."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.tasks: OrderedDict[tuple, asyncio.Task] = OrderedDict()

    def get(self, key: tuple, make) -> asyncio.Future:
        task = self.tasks.get(key)
        if task is None or task.cancelled():
            task = asyncio.ensure_future(make())
            self.tasks[key] = task
            while len(self.tasks) > self.size:
                self.tasks.popitem(last=False)
        # Shielded: one socket closing while it waits must not cancel the work that the
        # other sockets are waiting for too.
        return asyncio.shield(task)


SHARED = _Shared()
DESKS: dict[str, set[DeskConnection]] = {}


def _room_id(event: StoredEvent, data: dict[str, Any]) -> str | None:
    if event.type in ROOM_EVENTS:
        return data.get("id")
    return data.get("conversation_id")


async def _row_parts(event: StoredEvent, room_id: str) -> tuple[ConversationOut, Any] | None:
    """The room as it is now, and its inbox row (without this agent's unread count)."""
    room_row = await conversations.room_by_id(event.customer_id, room_id)
    if room_row is None:
        return None
    room = await conversations.room_out(room_row)
    names = await activities.agent_names([room.owner_id])
    row = inbox.InboxRow(
        room=room,
        unread=0,
        owner_name=names.get(room.owner_id or ""),
        tm_activity=room_row.tm_activity,
    )
    return room, row


async def _decode(event: StoredEvent) -> dict[str, Any]:
    return msgspec.json.decode(event.payload)


async def _row_html(event: StoredEvent, row: Any, current: bool) -> str:
    return render(
        "partials/inbox_row.html",
        row=row,
        current_id=row.room.id if current else None,
        fresh=event.type in MOVES_TO_TOP,
        **_NO_CSRF,
    )


async def _unread_html(room_id: str, count: int) -> str:
    row = SimpleNamespace(room=SimpleNamespace(id=room_id), unread=count)
    return placed(swap(render("partials/unread.html", row=row)))


async def _unread(event: StoredEvent, room_id: str) -> dict[str, int]:
    agent_ids = sorted({c.principal.agent_id for c in DESKS.get(event.customer_id, ())})
    return await inbox.unread_for_agents(room_id, agent_ids)


def _talk_id(event: StoredEvent, data: dict[str, Any]) -> str | None:
    """Talk events carry a talk (its id), a message or a participant (their talk_id)."""
    if event.type in ("talk_created", "talk_updated", "talk_closed"):
        return data.get("id")
    return data.get("talk_id")


async def _talk_unread(event: StoredEvent, talk_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """Every participant's unread count in the talk, and each audience member's total
    over all talks (the nav dot): two queries per event per process, not per socket."""
    by_agent = await talk_messages.unread_by_agent(event.customer_id, talk_id)
    totals = await talk_views.unread_totals(event.customer_id, event.audience)
    return by_agent, totals


async def _talk_message(event: StoredEvent, data: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    message = msgspec.convert(data, TalkMessageOut)
    return message, await talk_views.names_for(event.customer_id, [message])


async def _item_html(event: StoredEvent, data: dict[str, Any]) -> str:
    item = await timeline.item_for(event.type, data)
    return render("partials/timeline_item.html", item=item, **_NO_CSRF) if item else ""


class DeskConnection(EventConnection):
    too_slow = "too far behind; reconnect"
    kind = "desk"

    def __init__(
        self,
        socket: WebSocket,
        principal: Principal,
        hub: Hub,
        presence: Presence,
        room_id: str | None,
        view: inbox.InboxFilter,
        agent_name: str,
        page: str = "inbox",
        talk_id: str | None = None,
    ) -> None:
        super().__init__(principal, hub)
        self.page = page
        """"inbox" (conversations) or "talks" (the Talk area): what this page shows."""
        self.talk_id = talk_id
        self.socket = socket
        self.presence = presence
        self.room_id = room_id
        self.view = view
        self.agent_id = principal.agent_id
        self.agent_name = agent_name

    async def send_text(self, text: str) -> None:
        await send_frame(self.socket, text)

    async def close_broken(self) -> None:
        await close_quietly(self.socket, 1011, "internal error; reconnect")

    async def caught_up(self) -> None:
        await self.send_text(
            '<div id="conn" class="conn" data-state="live" hx-swap-oob="outerHTML" '
            'role="status" aria-live="polite"><span class="conn-text">Live</span></div>'
        )

    def viewers_changed(self, names: dict[str, str]) -> None:
        others = sorted(n for a, n in names.items() if a != self.agent_id)
        text = render("partials/viewers.html", others=others, **_NO_CSRF)
        self.queue_text(text)

    async def emit(self, events: list[StoredEvent]) -> None:
        parts: list[str] = []
        for event in events:
            talk = event.type.startswith("talk_")
            if not (talk or event.type.startswith("conversation_")) or not self.may_see(event):
                continue
            if not talk and self.page != "inbox":
                continue
            try:
                parts += await (self._talk_fragments(event) if talk else self._fragments(event))
            except Exception:  # noqa: BLE001 - one bad event must not kill the socket
                log.exception("could not render event %s for the desk", event.id)
        parts.append(
            f'<div id="desk-cursor" data-event-id="{self.cursor}" hidden '
            'hx-swap-oob="outerHTML"></div>'
        )
        await self.send_text("\n".join(parts))

    async def _fragments(self, event: StoredEvent) -> list[str]:
        data = await SHARED.get(("data", event.customer_id, event.id), lambda: _decode(event))
        room_id = _room_id(event, data)
        if not room_id:
            return []
        out: list[str] = []
        parts = await SHARED.get(
            ("row", event.customer_id, event.id), lambda: _row_parts(event, room_id)
        )
        viewing = self.room_id == room_id
        if parts is not None:
            room, row = parts
            placed, shown = await self._inbox_fragments(event, room, row)
            out += placed
            if shown:  # the shared row says 0 unread; this agent's count goes on top of it
                out.append(await self.unread_fragment(event, room_id, viewing))
        if viewing:
            if event.type in ITEM_EVENTS:
                html = await SHARED.get(
                    ("item", event.customer_id, event.id), lambda: _item_html(event, data)
                )
                out += self._timeline_fragments(event, data, html)
                if event.type == "conversation_message_created":
                    await inbox.mark_read(self.principal, room_id)
            if event.type in ROOM_EVENTS and parts is not None:
                if may_see_room(self.principal, parts[0].owner_id):
                    out.append(await self._chrome(parts[0]))
                else:
                    out += await self._room_lost(parts[0])
        return out

    async def _room_lost(self, room: ConversationOut) -> list[str]:
        """The open room went to someone this agent may not follow: say so at once, lock
        the composer and the side panel (the text typed stays), and stop viewing it —
        "also viewing" drops this agent for the others, and nothing more of the room is
        pushed here."""
        names = await activities.agent_names([room.owner_id])
        who = names.get(room.owner_id or "") or "someone else"
        if self.room_id:
            await self.presence.leave(self, self.agent_id)
            self.room_id = None
        return [
            render("partials/room_lost.html", who=who, **_NO_CSRF),
            render("partials/viewers.html", others=[], **_NO_CSRF),
            placed(lock("composer"), lock("context")),
        ]

    async def _talk_fragments(self, event: StoredEvent) -> list[str]:
        """A talk event on this agent's page: the nav dot everywhere; on the Talk page
        the list row (moved, refreshed, or gone) and, for the open talk, its messages and
        header."""
        data = await SHARED.get(("data", event.customer_id, event.id), lambda: _decode(event))
        talk_id = _talk_id(event, data)
        if not talk_id:
            return []
        state = await SHARED.get(
            ("talk", event.customer_id, event.id),
            lambda: talk_views.talk_state(event.customer_id, talk_id),
        )
        talk, names = state if state else (None, {})
        member = (
            talk is not None
            and not talk_views.is_deleted(talk)
            and self.agent_id in talk_views.active_agents(talk)
        )
        viewing = member and self.talk_id == talk_id
        if viewing and event.type == "talk_message_created" and data.get("type") == "normal":
            with contextlib.suppress(ServiceError):  # the open talk stays read
                await talk_messages.mark_read(self.principal, talk_id)
        counts, totals = await SHARED.get(
            ("talkunread", event.customer_id, event.id), lambda: _talk_unread(event, talk_id)
        )
        mine = counts.get(self.agent_id, 0)
        # the open talk counts as read (the two counts may straddle this socket's mark_read)
        total = max(0, totals.get(self.agent_id, 0) - (mine if viewing else 0))
        out = [render("partials/talk_dot.html", talk_unread=total, oob=True)]
        if self.page != "talks":
            return out
        row_id = f"talkrow-{talk_id}"
        if not member:
            out.append(placed(remove(row_id)))
            if self.talk_id == talk_id:
                why = (
                    "This talk was deleted"
                    if talk and talk_views.is_deleted(talk)
                    else ("You are no longer in this talk")
                )
                out.append(render("partials/talk_gone.html", why=why))
                # like a room taken away: the composers lock, a draft stays readable
                out.append(placed(lock("talk-composer"), lock("thread-composer")))
            return out
        row = talk_views.make_row(talk, names, self.agent_id, 0 if viewing else mine)
        html = render("partials/talk_row.html", r=row, current_id=self.talk_id, **_NO_CSRF)
        if event.type in TALK_MOVES_TO_TOP:
            out.append(placed(top(html, "talk-list")))
        else:  # in place; a row the page lacks goes on top
            out.append(placed(swap_or_top(html, "talk-list")))
        if not viewing:
            return out
        if event.type in TALK_MESSAGE_EVENTS:
            message, message_names = await SHARED.get(
                ("talkmsg", event.customer_id, event.id), lambda: _talk_message(event, data)
            )
            out.append(
                message_fragments(
                    message,
                    message_names,
                    self.principal,
                    new=event.type == "talk_message_created",
                )
            )
        else:
            out.append(
                render(
                    "partials/talk_header.html",
                    row=row,
                    principal=self.principal,
                    directory=await agents.directory(self.principal),
                    oob=True,
                    **_NO_CSRF,
                )
            )
        return out

    async def _inbox_fragments(
        self, event: StoredEvent, room: ConversationOut, row: Any
    ) -> tuple[list[str], bool]:
        """The swaps that put the room's row where it belongs in this socket's inbox view,
        and whether it is shown there."""
        fits = inbox.matches(self.principal, self.view, room)
        row_id = f"row-{room.id}"
        if fits is False:
            return [placed(remove(row_id))], False
        current = self.room_id == room.id
        html = await SHARED.get(
            ("rowhtml", event.customer_id, event.id, current),
            lambda: _row_html(event, row, current),
        )
        if fits is None:  # a search view: only refresh a row that is already shown
            return [placed(swap(html))], True
        if event.type in MOVES_TO_TOP:  # new activity: to the top
            return [placed(top(html, "inbox-list"))], True
        # a change: in place; a row the page lacks (just assigned to me) goes on top
        return [placed(swap_or_top(html, "inbox-list"))], True

    def _timeline_fragments(self, event: StoredEvent, data: dict[str, Any], html: str) -> list[str]:
        if not html:
            return []
        if event.type == "conversation_message_updated":  # shown only if loaded
            return [placed(swap(html))]
        # new: at the end, dropping a copy the page may already show (rendered while this
        # event committed)
        return [placed(end(html, "timeline"))]

    async def _chrome(self, room: ConversationOut) -> str:
        if room.tm_delete != "9999-01-01 00:00:00.000000":
            gone = render("partials/room_gone.html", **_NO_CSRF)
            return gone + placed(lock("composer"), lock("context"))
        names = await activities.agent_names([room.owner_id])
        return render(
            "partials/room_chrome.html",
            room=room,
            principal=self.principal,
            owner_name=names.get(room.owner_id or ""),
            directory=await agents.directory(self.principal),
            oob=True,
            **_NO_CSRF,
        )

    async def unread_fragment(self, event: StoredEvent, room_id: str, viewing: bool) -> str:
        counts = await SHARED.get(
            ("unread", event.customer_id, event.id), lambda: _unread(event, room_id)
        )
        count = 0 if viewing else counts.get(self.agent_id, 0)
        return await SHARED.get(
            ("unreadhtml", event.customer_id, event.id, count), lambda: _unread_html(room_id, count)
        )

    async def run(self, since: int | None) -> None:
        DESKS.setdefault(self.customer_id, set()).add(self)
        try:
            await self.start(since)
            if self.room_id:
                await self.presence.join(self, self.agent_id, self.agent_name)
            while True:
                try:
                    await self.socket.receive_data(mode="text")  # the page sends nothing we need
                except WebSocketDisconnect:
                    return
        finally:
            DESKS.get(self.customer_id, set()).discard(self)
            if self.room_id:
                await self.presence.leave(self, self.agent_id)
            await self.stop()


@websocket("/desk/ws")
async def desk_websocket(
    socket: WebSocket, settings: Settings, hub: Hub, presence: Presence
) -> None:
    await socket.accept()
    if not origin_ok(socket, settings):
        await socket.close(code=4403, reason="origin_not_allowed")
        return
    try:
        principal = await authenticate_token(
            socket.cookies.get("token", ""), settings.require_secret_key()
        )
    except ServiceError as exc:
        await socket.close(code=4401, reason=exc.reason)
        return
    q = socket.query_params
    room_id = q.get("room") or None
    if room_id:
        try:
            await conversations.get_room(principal, room_id)
        except ServiceError:
            room_id = None
    page = "talks" if q.get("page") == "talks" else "inbox"
    talk_id = q.get("talk") or None
    if talk_id:
        try:
            talk_id = (await talk_service.reach(principal, talk_id)).id
        except ServiceError:
            talk_id = None
    wanted = q.get("view") or ""
    view = inbox.InboxFilter(
        view=wanted if wanted in inbox.VIEWS else inbox.default_view(principal),
        status=q.get("status") or None,
        channel=q.get("channel") or None,
        tag=q.get("tag") or None,
        q=q.get("q") or None,
    )
    try:
        since = parse_event_id(q["since"]) if q.get("since") else None
    except ValueError:
        since = None
    name = await agents.display_name(principal)
    await DeskConnection(
        socket, principal, hub, presence, room_id, view, name, page=page, talk_id=talk_id
    ).run(since)

"""`/desk/ws`: the desk's live connection (htmx ws extension).

This module is the connection itself: it accepts and authenticates the socket, reads
what the page shows from the URL, registers with the hub, replays from the page's
`since`, sends, and closes. What an event means for the page is worked out beside it:
conversation events by app/desk/live_inbox.py, talk events by app/desk/live_talk.py,
agent and team events (the rail switch, the admin Agents and Teams pages) by
app/desk/live_people.py; all answer with HTML fragments that the templates render with
`oob=True` and htmx swaps out-of-band.

The page says up to which event it was rendered (`since`); the socket replays from there,
and every push carries the new cursor (`#desk-cursor`), which the page's script puts into
the URL when the extension reconnects — so after a dropped connection the page catches
up on exactly what it missed.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.api.ws import origin_ok
from app.contacts import service as contacts
from app.conversations import service as conversations
from app.core.connection import EventConnection, close_quietly, send_frame
from app.core.events import StoredEvent
from app.core.hub import Hub
from app.desk import inbox, live_contacts, live_people
from app.desk import live_inbox as desk_inbox
from app.desk import live_talk as desk_talk
from app.desk import notifications as notifications_desk
from app.desk.liveness import DeskLife
from app.desk.pages import inbox_filter
from app.desk.presence import Presence
from app.desk.render import render, render_small
from app.domain.enums import (
    CONTACT_EVENTS,
    CONVERSATION_EVENTS,
    NOTIFICATION_EVENTS,
    TALK_EVENTS,
    EventType,
)
from app.domain.errors import ServiceError
from app.domain.principal import Principal
from app.domain.topics import parse_event_id
from app.people import agents
from app.people.auth import authenticate_token, still_signed_in
from app.settings import Settings
from app.talk import service as talk_service

log = logging.getLogger(__name__)

PAGES = frozenset({"inbox", "talks", "contacts"}) | live_people.ADMIN_PAGES
"""The `page` kinds a desk socket may say it is (anything else is the inbox)."""


async def _decode(event: StoredEvent) -> dict[str, Any]:
    return msgspec.json.decode(event.payload)


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
        life: DeskLife | None = None,
        contact_id: str | None = None,
        contact_q: str = "",
    ) -> None:
        super().__init__(principal, hub)
        self.life = life
        """Where this socket proves its agent is at the desk (auto-offline)."""
        self.page = page
        """What this page shows: "inbox" (conversations), "talks" (the Talk area), or an
        admin page kept live, "agents" or "teams" (app/desk/live_people.py)."""
        self.talk_id = talk_id
        self.contact_id = contact_id
        """The contact whose profile the Contacts page shows (app/desk/live_contacts.py)."""
        self.contact_q = contact_q
        """The Contacts page's search, if any."""
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

    async def resume_too_old(self) -> bool:
        """The page was rendered before events that are pruned now: the page's script
        reloads it on this close code (a reload renders from the current state)."""
        await close_quietly(self.socket, 4410, "events_pruned")
        return False

    async def agent_changed(self) -> None:
        if not await still_signed_in(self.principal):
            await close_quietly(self.socket, 4401, "signed_out")

    async def caught_up(self) -> None:
        await self.send_text(render("partials/conn.html", oob=True))

    def viewers_changed(self, names: dict[str, str]) -> None:
        self.queue_text(desk_inbox.viewers(names, self.agent_id))

    def visitor_typing(self) -> None:
        """The web chat visitor of the open room is typing (presence.py): not an event, so
        no cursor moves; the page's script hides the line again (static/js/desk.js)."""
        self.queue_text(render_small("partials/typing.html", typing=True, oob=True))

    async def leave_room(self) -> None:
        """Stop viewing the open room: "also viewing" drops this agent for the others,
        and nothing more of the room is pushed here."""
        if self.room_id:
            await self.presence.leave(self, self.agent_id)
            self.room_id = None

    async def emit(self, events: list[StoredEvent]) -> None:
        parts: list[str] = []
        bell = False
        for event in events:
            if event.type in NOTIFICATION_EVENTS:
                # this agent's own only (private audience): the count once per batch, as it
                # is now (a "mark all read" is a batch of updates)
                bell = bell or self.may_see(event)
                continue
            talk = event.type in TALK_EVENTS
            if event.type in live_people.PEOPLE_EVENTS:
                if not self.may_see(event):
                    continue
                try:
                    data = await self.hub.shared.get(
                        ("data", event.customer_id, event.id), partial(_decode, event)
                    )
                    if event.type == EventType.AGENT_AVAILABILITY_UPDATED:
                        parts += live_people.fragments(self, data)
                    parts += await live_people.admin_fragments(self, event, data)
                except Exception:  # noqa: BLE001 - one bad event must not kill the socket
                    log.exception("could not render event %s for the desk", event.id)
                continue
            if event.type in CONTACT_EVENTS:
                if self.page != "contacts" or not self.may_see(event):
                    continue
                try:
                    data = await self.hub.shared.get(
                        ("data", event.customer_id, event.id), partial(_decode, event)
                    )
                    parts += await live_contacts.fragments(self, event, data)
                except Exception:  # noqa: BLE001 - one bad event must not kill the socket
                    log.exception("could not render event %s for the desk", event.id)
                continue
            if not (talk or event.type in CONVERSATION_EVENTS) or not self.may_see(event):
                continue
            if not talk and self.page != "inbox":
                continue
            try:
                data = await self.hub.shared.get(
                    ("data", event.customer_id, event.id), partial(_decode, event)
                )
                parts += await (desk_talk if talk else desk_inbox).fragments(self, event, data)
            except Exception:  # noqa: BLE001 - one bad event must not kill the socket
                log.exception("could not render event %s for the desk", event.id)
        if bell:
            try:
                parts.append(await notifications_desk.bell(self.principal, oob=True))
            except Exception:  # noqa: BLE001 - one bad push must not kill the socket
                log.exception("could not render the bell for the desk")
        parts.append(render_small("partials/desk_cursor.html", since=self.cursor, oob=True))
        await self.send_text("\n".join(parts))

    async def run(self, since: int | None) -> None:
        if self.life is not None:
            await self.life.opened(self.customer_id, self.agent_id)
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
            await self.leave_room()
            await self.stop()
            if self.life is not None:
                await self.life.closed(self.customer_id, self.agent_id)


@websocket("/desk/ws")
async def desk_websocket(
    socket: WebSocket, settings: Settings, hub: Hub, presence: Presence, desk_life: DeskLife
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
    page = q.get("page") or "inbox"
    if page not in PAGES or (page in live_people.ADMIN_PAGES and not principal.is_admin):
        page = "inbox"
    talk_id = q.get("talk") or None
    if talk_id:
        try:
            talk_id = (await talk_service.reach(principal, talk_id)).id
        except ServiceError:
            talk_id = None
    contact_id = q.get("contact") or None
    if contact_id:
        try:
            contact_id = (await contacts.get_contact(principal, contact_id)).id
        except ServiceError:
            contact_id = None
    view = await inbox_filter(
        principal,
        {
            k: q.get(k)
            for k in ("view", "status", "channel", "tag", "q", "team", "priority", "sla", "sort")
        },
    )
    try:
        since = parse_event_id(q["since"]) if q.get("since") else None
    except ValueError:
        since = None
    name = await agents.display_name(principal)
    await DeskConnection(
        socket,
        principal,
        hub,
        presence,
        room_id,
        view,
        name,
        page=page,
        talk_id=talk_id,
        life=desk_life,
        contact_id=contact_id,
        contact_q=(q.get("cq") or "").strip()[:200],
    ).run(since)

"""`/widget/{account_id}/ws?token=…&since=…`: a web chat visitor's live connection.

It is an EventConnection like the desk's and the API's: registered with the hub, caught
up from the event table after `since` (the last event id the widget saw), then following
the live stream — so a reconnect misses nothing. What it forwards is narrow: messages to
and from this visitor's own webchat participant, new and updated (delivery status), as
the visitor sees them (widget.service.visitor_message); nothing else of the customer's
stream.

To keep that cheap when a customer has many visitors online, an event is first checked
against the visitor's rooms using the conversation id in its topic (no decoding); the set
of rooms is loaded once the connection is registered and grows when a room event shows
the visitor joining a room (a first message opens one; leaving an email may join one).

Frames (JSON text), each with the event id to resume from:
    {"type": "message", "id": "<event id>", "data": {VisitorMessage}}
    {"type": "survey", "id": "<event id>", "data": {"id", "question"}}   rate the chat
    {"type": "ready", "id": "<event id>"}    caught up; live from here
    {"type": "cursor", "id": "<event id>"}   nothing for you, but resume from here
    {"type": "resync"}                       `since` was too old: reload the history
The widget sends one frame, `{"type": "typing"}`, while the visitor types (at most every
2 s): the desks with the visitor's room open show "Visitor is typing…" (through presence,
app/desk/presence.py; not stored). Anything else it sends is ignored.
Close codes: 4401 bad token, 4403 website not allowed, 4404 no such widget, 1013 too slow.
"""

from __future__ import annotations

import logging
import time

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.channels.account_store import AccountRow
from app.core.connection import EventConnection, close_quietly, send_frame
from app.core.events import StoredEvent
from app.core.hub import Hub
from app.desk.presence import Presence
from app.domain import csat as csat_rules
from app.domain.enums import EventType, Permission
from app.domain.errors import Forbidden, NotFound, ServiceError
from app.domain.principal import Principal
from app.domain.resources import CsatSurveyOut, MessageOut
from app.domain.topics import parse_event_id
from app.widget import service as widget

log = logging.getLogger(__name__)

MESSAGE_EVENTS = {EventType.CONVERSATION_MESSAGE_CREATED, EventType.CONVERSATION_MESSAGE_UPDATED}
JOIN_EVENTS = {
    EventType.CONVERSATION_CREATED,
    EventType.CONVERSATION_PARTICIPANT_ADDED,
    EventType.CONVERSATION_UPDATED,
}
CURSOR_EVERY = 15.0
"""Seconds between `cursor` frames for a visitor who gets no messages, so a reconnect
after a long quiet spell does not replay the whole stream in between."""
TYPING_EVERY = 1.0
"""Seconds between two typing announcements of one visitor, whatever the widget sends:
a page sending a frame per keystroke (or a hostile one, a flood) costs the bus one
notice a second."""
MAX_CLIENT_FRAME = 256
"""Longer frames from the widget are not read (the one it sends is 17 bytes)."""


class _ClientFrame(msgspec.Struct):
    type: str


class _Peer(msgspec.Struct):
    type: str
    target: str


class _RoomPeek(msgspec.Struct):
    """The part of a room event that says who is in the room."""

    id: str
    participants: list[_Peer] = []


def _room_of(event: StoredEvent) -> str | None:
    """The conversation id in an event's topic, `customer_id:C:conversation:ID`."""
    for topic in event.topics:
        parts = topic.split(":")
        if len(parts) == 4 and parts[2] == "conversation":
            return parts[3]
    return None


class WidgetConnection(EventConnection):
    kind = "widget"

    def __init__(
        self,
        socket: WebSocket,
        account: AccountRow,
        visitor_id: str,
        hub: Hub,
        presence: Presence | None = None,
    ) -> None:
        principal = Principal(  # a visitor is no agent: only the customer id is used
            customer_id=str(account.customer_id),
            agent_id="",
            username=f"webchat visitor {visitor_id}",
            permission=Permission.AGENT,
            via="widget",
        )
        super().__init__(principal, hub)
        self.socket = socket
        self.visitor_id = visitor_id
        self.rooms: set[str] | None = None
        self.last_frame = time.monotonic()
        self.presence = presence
        self.last_typing = 0.0

    async def send_text(self, text: str) -> None:
        await send_frame(self.socket, text)

    def frame(self, body: dict) -> str:
        self.last_frame = time.monotonic()
        return msgspec.json.encode(body).decode()

    async def close_broken(self) -> None:
        await close_quietly(self.socket, 1011, "internal error; reconnect")

    async def caught_up(self) -> None:
        await self.send_text(self.frame({"type": "ready", "id": str(self.cursor)}))

    async def resume_too_old(self) -> bool:
        # pruned while the replay ran (the usual case is found before: resume_point)
        await self.send_text(self.frame({"type": "resync"}))
        return True

    async def emit(self, events: list[StoredEvent]) -> None:
        if self.rooms is None:  # first time: after registering, so no room is missed
            self.rooms = await widget.visitor_rooms(self.customer_id, self.visitor_id)
        sent = False
        for event in events:
            if event.type in JOIN_EVENTS:
                self._note_room(event)
            elif event.type in MESSAGE_EVENTS and _room_of(event) in self.rooms:
                message = widget.visitor_message(
                    msgspec.json.decode(event.payload, type=MessageOut), self.visitor_id
                )
                if message is not None:
                    body = {"type": "message", "id": str(event.id), "data": message}
                    await self.send_text(self.frame(body))
                    sent = True
            elif event.type == EventType.CSAT_SURVEY_SENT and _room_of(event) in self.rooms:
                survey = msgspec.json.decode(event.payload, type=CsatSurveyOut)
                if survey.reference_type == widget.WEBCHAT and survey.target == self.visitor_id:
                    card = {"id": survey.id, "question": csat_rules.shown_question(survey.question)}
                    body = {"type": "survey", "id": str(event.id), "data": card}
                    await self.send_text(self.frame(body))
                    sent = True
        if not sent and time.monotonic() - self.last_frame > CURSOR_EVERY:
            await self.send_text(self.frame({"type": "cursor", "id": str(events[-1].id)}))

    def _note_room(self, event: StoredEvent) -> None:
        assert self.rooms is not None
        room = msgspec.json.decode(event.payload, type=_RoomPeek)
        if room.id in self.rooms:
            return
        if any(p.type == "webchat" and p.target == self.visitor_id for p in room.participants):
            self.rooms.add(room.id)

    async def heard(self, text: str) -> None:
        """A frame from the widget: only `typing` means something."""
        if len(text) > MAX_CLIENT_FRAME:
            return
        try:
            frame = msgspec.json.decode(text, type=_ClientFrame)
        except msgspec.DecodeError:
            return
        if frame.type != "typing" or self.presence is None:
            return
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY:
            return
        self.last_typing = now
        if self.rooms is None:
            self.rooms = await widget.visitor_rooms(self.customer_id, self.visitor_id)
        # a bus notice is small (PostgreSQL NOTIFY takes 8,000 bytes): 50 rooms at most
        await self.presence.typing(self.customer_id, sorted(self.rooms)[:50])

    async def run(self, since: int | None) -> None:
        try:
            await self.start(since)
            while True:  # read until the widget leaves; it may say the visitor is typing
                try:
                    text = await self.socket.receive_data(mode="text")
                except WebSocketDisconnect:
                    return
                await self.heard(str(text))
        finally:
            await self.stop()


@websocket("/widget/{account_id:str}/ws")
async def widget_websocket(
    socket: WebSocket, hub: Hub, presence: Presence, account_id: str
) -> None:
    # Accept first, then close with a code and reason the widget can act on (a refused
    # handshake tells a browser only that it failed).
    await socket.accept()
    query = socket.query_params
    try:
        account = await widget.open_account(account_id, socket.headers.get("origin"))
        visitor_id = widget.visitor_of(account, query.get("token"))
        raw_since = query.get("since") or None
        since = parse_event_id(raw_since) if raw_since is not None else None
    except NotFound as exc:
        await socket.close(code=4404, reason=exc.reason)
        return
    except Forbidden as exc:
        await socket.close(code=4403, reason=exc.reason)
        return
    except ServiceError as exc:
        await socket.close(code=4401, reason=exc.reason)
        return
    except ValueError:
        await socket.close(code=4400, reason="invalid_since")
        return
    since, resync = await widget.resume_point(str(account.customer_id), since)
    connection = WidgetConnection(socket, account, visitor_id, hub, presence)
    if resync:
        connection.queue_text(connection.frame({"type": "resync"}))
    await connection.run(since)

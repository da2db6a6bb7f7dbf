"""`/v1.0/ws`: the API websocket (the protocol: docs/WEBSOCKETS.md).

The client subscribes to topics (prefixes of VoIPBIN's topic form) and receives frames
shaped like webhook bodies, `{"id", "type", "tm_create", "data"}`. A client that comes back
with `"since": "<last event id>"` on its first subscribe first receives, in order, every
event it missed, then the live ones — none lost, none twice.

Client messages:
    {"type": "subscribe", "topics": [...], "since": "123"}     ("since" only on the first)
    {"type": "unsubscribe", "topics": [...]}
Server control frames: {"type": "subscribed" | "unsubscribed", "topics": [...]},
{"type": "error", "reason": ..., "message": ..., "topics"?: [...]}.

A `since` older than the events kept (retention pruned some after it) is answered with
{"type": "error", "reason": "events_pruned", ...} and the close code 4410: the client
fetches what it shows again and subscribes without `since`.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.api.auth import authenticate
from app.core.connection import EventConnection, close_quietly, send_frame
from app.core.events import StoredEvent, event_body
from app.core.hub import Hub
from app.domain.enums import PUBLIC_EVENTS
from app.domain.errors import ServiceError
from app.domain.origins import same_origin
from app.domain.principal import Principal
from app.domain.topics import is_well_formed, owner_of, parse_event_id
from app.people import auth
from app.settings import Settings

log = logging.getLogger(__name__)


class _ClientMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: str
    topics: list[str] = []
    since: str | None = None


class _Shared(msgspec.Struct):
    """What every connection of this process would otherwise work out again for the same
    event: its frame, and its topics in order (to find a subscription's matches)."""

    frame: str
    topics: list[str]

    def matches(self, subscription: str) -> bool:
        """topics.matches(subscription, t) for some topic t: t is the subscription, or
        begins with it + ":". Those topics sort together, so two binary searches find
        them: a talk event has a topic per participant, and testing every topic for every
        connection cost O(participants^2) per event."""
        topics = self.topics
        i = bisect_left(topics, subscription)
        if i < len(topics) and topics[i] == subscription:
            return True
        below = subscription + ":"
        i = bisect_left(topics, below, i)
        return i < len(topics) and topics[i].startswith(below)


def shared(hub: Hub, event: StoredEvent) -> _Shared:
    """The event's frame and sorted topics, made once per process (remembered by the hub):
    the hub hands the same events to every connection, and a catch-up reads copies of them
    (same ids)."""
    key = ("api", event.customer_id, event.id)  # ids alone repeat across databases (tests)
    return hub.remembered.get(
        key, lambda: _Shared(frame=event_body(event).decode(), topics=sorted(event.topics))
    )


EVENTS_PRUNED = {
    "type": "error",
    "reason": "events_pruned",
    "message": "Some events after `since` are older than the event retention and no longer"
    " kept. Fetch what you show again, then subscribe without `since`.",
}


class ApiConnection(EventConnection):
    kind = "API"

    def __init__(self, socket: WebSocket, principal: Principal, hub: Hub) -> None:
        super().__init__(principal, hub)
        self.socket = socket
        self.subscriptions: set[str] = set()

    def control(self, frame: dict[str, Any]) -> None:
        self.queue_text(msgspec.json.encode(frame).decode())

    async def refuse(self, frame: dict[str, Any]) -> None:
        """An error frame answering the client's message. Before the first subscription
        no writer runs yet, and a queued frame would wait for it: then the reader, the only
        one writing so far, sends it at once."""
        if self.registered:
            self.control(frame)
        else:
            await self.send_text(msgspec.json.encode(frame).decode())

    async def send_text(self, text: str) -> None:
        await send_frame(self.socket, text)

    async def close_broken(self) -> None:
        await close_quietly(self.socket, 1011, "internal error; reconnect")

    async def agent_changed(self) -> None:
        if not await auth.still_signed_in(self.principal):
            await close_quietly(self.socket, 4401, "signed_out")

    async def resume_too_old(self) -> bool:
        await self.send_text(msgspec.json.encode(EVENTS_PRUNED).decode())
        await close_quietly(self.socket, 4410, "events_pruned")
        return False

    def allowed(self, topic: str) -> bool:
        if not is_well_formed(topic):
            return False
        kind, ident = owner_of(topic)
        if kind == "customer_id":
            return ident == self.principal.customer_id
        return ident == self.principal.agent_id

    def wanted(self, event: StoredEvent) -> _Shared | None:
        """The event's shared frame if this client should get it, else None."""
        if not self.subscriptions or event.type not in PUBLIC_EVENTS or not self.may_see(event):
            return None
        common = shared(self.hub, event)
        if any(common.matches(s) for s in self.subscriptions):
            return common
        return None

    async def emit(self, events: list[StoredEvent]) -> None:
        for event in events:
            if (common := self.wanted(event)) is not None:
                await self.send_text(common.frame)

    async def run(self) -> None:
        try:
            await self._read()
        finally:
            await self.stop()

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.socket.receive_data(mode="text")
            except WebSocketDisconnect:
                return
            try:
                message = msgspec.json.decode(raw, type=_ClientMessage)
            except msgspec.DecodeError as exc:
                await self.refuse(
                    {"type": "error", "reason": "invalid_message", "message": str(exc)}
                )
                continue
            if message.type == "subscribe":
                await self._subscribe(message)
            elif message.type == "unsubscribe":
                gone = [t for t in message.topics if t in self.subscriptions]
                self.subscriptions.difference_update(gone)
                self.control({"type": "unsubscribed", "topics": gone})
            else:
                await self.refuse(
                    {
                        "type": "error",
                        "reason": "invalid_message",
                        "message": "type must be subscribe or unsubscribe",
                    }
                )

    async def _subscribe(self, message: _ClientMessage) -> None:
        since: int | None = None
        if message.since is not None:
            try:
                since = parse_event_id(message.since)
            except ValueError:
                await self.refuse(
                    {"type": "error", "reason": "invalid_since", "message": "since: an event id"}
                )
                return
        accepted = [t for t in message.topics if self.allowed(t)]
        refused = [t for t in message.topics if t not in accepted]
        self.subscriptions.update(accepted)
        self.control({"type": "subscribed", "topics": accepted})
        if refused:
            self.control(
                {
                    "type": "error",
                    "reason": "topic_forbidden",
                    "message": "These topics are not yours or not well formed.",
                    "topics": refused,
                }
            )
        await self.start(since)


def origin_ok(socket: WebSocket, settings: Settings) -> bool:
    """Is the page that opened this socket one of ours: the same scheme, host and port as
    our public URL, or as the address the socket itself was opened on?"""
    origin = socket.headers.get("origin")
    own = f"{socket.scope.get('scheme', 'ws')}://{socket.headers.get('host', '')}"
    return same_origin(origin, settings.public_url) or same_origin(origin, own)


@websocket("/v1.0/ws")
async def api_websocket(socket: WebSocket, settings: Settings, hub: Hub) -> None:
    try:
        principal, by_cookie = await authenticate(socket, settings)
    except ServiceError as exc:
        # Accept, then close with a reason a client can read (a refused handshake says
        # only "403").
        await socket.accept()
        await socket.close(code=4401, reason=exc.reason)
        return
    await socket.accept()
    if by_cookie and not origin_ok(socket, settings):
        # A browser sends cookies to any site's websocket; only our own pages may use them.
        await socket.close(code=4403, reason="origin_not_allowed")
        return
    await ApiConnection(socket, principal, hub).run()

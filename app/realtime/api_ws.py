"""`/v1.0/ws`: the API websocket (CONTRACT §6).

The client subscribes to topics (prefixes of VoIPBIN's topic form) and receives frames
shaped like webhook bodies, `{"id", "type", "tm_create", "data"}`. A client that comes back
with `"since": "<last event id>"` on its first subscribe first receives, in order, every
event it missed, then the live ones — none lost, none twice.

Client messages:
    {"type": "subscribe", "topics": [...], "since": "123"}     ("since" only on the first)
    {"type": "unsubscribe", "topics": [...]}
Server control frames: {"type": "subscribed" | "unsubscribed", "topics": [...]},
{"type": "error", "reason": ..., "message": ..., "topics"?: [...]}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from app.api.auth import authenticate
from app.domain.errors import ServiceError
from app.domain.principal import Principal
from app.domain.topics import is_well_formed, matches, owner_of
from app.realtime.hub import Hub
from app.services.events import StoredEvent, event_body, events_after
from app.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKLOG = 10_000
"""Batches queued for a client that does not read; past it the client is dropped (close
code 1013) and may resume with `since`."""


class _ClientMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: str
    topics: list[str] = []
    since: str | None = None


class ApiConnection:
    def __init__(self, socket: WebSocket, principal: Principal, hub: Hub) -> None:
        self.socket = socket
        self.principal = principal
        self.customer_id = principal.customer_id
        self.hub = hub
        self.subscriptions: set[str] = set()
        self.cursor = 0
        self.outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.registered = False

    # the hub calls this with every new batch of this customer's events
    def deliver(self, events: list[StoredEvent]) -> None:
        if self.outbox.qsize() > MAX_BACKLOG:
            return
        self.outbox.put_nowait(("events", events))

    def control(self, frame: dict[str, Any]) -> None:
        self.outbox.put_nowait(("send", msgspec.json.encode(frame)))

    def allowed(self, topic: str) -> bool:
        if not is_well_formed(topic):
            return False
        kind, ident = owner_of(topic)
        if kind == "customer_id":
            return ident == self.principal.customer_id
        return ident == self.principal.agent_id

    def wants(self, event: StoredEvent) -> bool:
        if event.audience and not self.principal.sees_all_conversations:
            if self.principal.agent_id not in event.audience:
                return False
        return any(matches(s, t) for s in self.subscriptions for t in event.topics)

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        try:
            await self._read()
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if self.registered:
                self.hub.unregister(self)

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.socket.receive_data(mode="text")
            except WebSocketDisconnect:
                return
            try:
                message = msgspec.json.decode(raw, type=_ClientMessage)
            except msgspec.DecodeError as exc:
                self.control({"type": "error", "reason": "invalid_message", "message": str(exc)})
                continue
            if message.type == "subscribe":
                await self._subscribe(message)
            elif message.type == "unsubscribe":
                gone = [t for t in message.topics if t in self.subscriptions]
                self.subscriptions.difference_update(gone)
                self.control({"type": "unsubscribed", "topics": gone})
            else:
                self.control(
                    {
                        "type": "error",
                        "reason": "invalid_message",
                        "message": "type must be subscribe or unsubscribe",
                    }
                )
            if self.outbox.qsize() > MAX_BACKLOG:
                await self.socket.close(code=1013, reason="client too slow; resume with since")
                return

    async def _subscribe(self, message: _ClientMessage) -> None:
        since: int | None = None
        if message.since is not None:
            try:
                since = int(message.since)
            except ValueError:
                self.control(
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
        if not self.registered:
            # Register first, then catch up from the table: whatever commits meanwhile
            # comes from the hub too, and the cursor drops the copies.
            self.registered = True
            start = await self.hub.register(self)
            self.outbox.put_nowait(("catchup", since if since is not None else start))

    async def _write(self) -> None:
        held: list[list[StoredEvent]] = []  # live batches that arrive before the catch-up
        caught_up = False
        while True:
            kind, item = await self.outbox.get()
            if kind == "send":
                await self.socket.send_data(item.decode(), mode="text")
            elif kind == "events":
                if caught_up:
                    await self._send_events(item)
                else:
                    held.append(item)
            elif kind == "catchup":
                self.cursor = item
                while batch := await events_after(self.customer_id, self.cursor):
                    await self._send_events(batch)
                for batch in held:
                    await self._send_events(batch)
                held.clear()
                caught_up = True

    async def _send_events(self, events: list[StoredEvent]) -> None:
        for event in events:
            if event.id <= self.cursor:
                continue
            self.cursor = event.id
            if self.wants(event):
                await self.socket.send_data(event_body(event).decode(), mode="text")


def _origin_ok(socket: WebSocket, settings: Settings) -> bool:
    origin = socket.headers.get("origin")
    if not origin:
        return False
    allowed = {urlsplit(settings.public_url).netloc, socket.headers.get("host", "")}
    return urlsplit(origin).netloc in allowed


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
    if by_cookie and not _origin_ok(socket, settings):
        # A browser sends cookies to any site's websocket; only our own pages may use them.
        await socket.close(code=4403, reason="origin_not_allowed")
        return
    await ApiConnection(socket, principal, hub).run()

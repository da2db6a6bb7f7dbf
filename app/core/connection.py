"""What every live connection shares: it registers with the hub, catches up from the
event table (from `since`, or from the moment it registered), then follows the live
stream; a cursor makes sure each event is handled once, in order.

Subclasses say what to do with events (`emit`) and may queue control messages.

A client may vanish at any moment (a closed tab, a lost network): a send to a socket that
is gone raises `ClientGone`, which ends the connection quietly; each connection says at
info level when it ends. Tracebacks are kept for our own faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from app.core.events import StoredEvent, events_after, last_event_id, pruned_through
from app.core.hub import Hub
from app.domain.enums import EventType
from app.domain.principal import Principal, may_see_event

log = logging.getLogger(__name__)

MAX_BACKLOG = 10_000
"""Batches queued for a client that does not read; past it the client is dropped (close
code 1013) and may resume with `since`."""


class ClientGone(Exception):
    """The client closed the socket, or the network dropped it, before a send."""


async def send_frame(socket: WebSocket, text: str) -> None:
    """Send a text frame; a socket the client has left raises `ClientGone`. (ASGI servers
    raise an OSError for a send on a closed connection; Litestar raises
    WebSocketDisconnect once it has seen the disconnect itself.)"""
    try:
        await socket.send_data(text, mode="text")
    except (OSError, WebSocketDisconnect) as exc:
        raise ClientGone from exc


async def close_quietly(socket: WebSocket, code: int, reason: str) -> None:
    """Close with a code the client can act on, unless it has already gone."""
    with contextlib.suppress(OSError, WebSocketDisconnect, RuntimeError):
        await socket.close(code=code, reason=reason)


class EventConnection:
    kind = "live"
    """What the log calls this connection (desk, API, widget)."""

    socket: WebSocket
    too_slow = "client too slow; resume with since"
    """The close reason (code 1013) for a client that fell MAX_BACKLOG batches behind."""

    def __init__(self, principal: Principal, hub: Hub) -> None:
        self.principal = principal
        self.customer_id = principal.customer_id
        self.hub = hub
        self.cursor = 0
        self.outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.registered = False
        self.writer: asyncio.Task | None = None
        self.closer: asyncio.Task | None = None

    # -- for subclasses ----------------------------------------------------------------

    async def emit(self, events: list[StoredEvent]) -> None:
        """Handle new events (each seen once, in id order)."""
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        raise NotImplementedError

    async def caught_up(self) -> None:
        """Called once the catch-up from the table is done."""

    async def resume_too_old(self) -> bool:
        """The client resumes from before events that retention has pruned: it would miss
        them. Tell it. True: carry on from the stream's current end (the client reloads
        what it shows); False (the default): the connection is over."""
        return False

    async def agent_changed(self) -> None:
        """The connection's agent changed (`agent_updated`): it may have been deactivated
        or deleted. A socket is authenticated once, when it opens; the agents' sockets
        check again here and close (code 4401) at once rather than at the next reconnect,
        which authentication refuses."""

    # -- machinery ---------------------------------------------------------------------

    def deliver(self, events: list[StoredEvent]) -> None:
        """The hub calls this with each batch of this customer's new events. Past the
        backlog batches are dropped, so the socket is closed at once (a client that never
        sends a frame must not silently miss events); it resumes with `since`."""
        if self.outbox.qsize() <= MAX_BACKLOG:
            self.outbox.put_nowait(("events", events))
        elif self.closer is None:
            self.closer = asyncio.get_running_loop().create_task(
                close_quietly(self.socket, 1013, self.too_slow)
            )

    def queue_text(self, text: str) -> None:
        self.outbox.put_nowait(("send", text))

    async def start(self, since: int | None) -> None:
        """Register with the hub, then catch up: whatever commits meanwhile comes from the
        hub too, and the cursor drops the copies."""
        if self.registered:
            return
        self.registered = True
        self.writer = asyncio.create_task(self._write())
        start = await self.hub.register(self)
        self.outbox.put_nowait(("catchup", since if since is not None else start))

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer
        if self.registered:
            self.hub.unregister(self)
        log.info("%s socket of %s closed", self.kind, self.principal.username)

    async def _write(self) -> None:
        try:
            await self._write_loop()
        except asyncio.CancelledError:
            raise
        except ClientGone:  # the reader hears the disconnect too, and stops the connection
            log.debug("%s socket of %s: gone mid-send", self.kind, self.principal.username)
        except Exception:  # a dead writer would leave a silent socket: say so, and close
            log.exception("live connection of %s stopped", self.principal.username)
            await self.close_broken()

    async def close_broken(self) -> None:
        """Close after an internal error; the client reconnects and catches up."""

    async def _write_loop(self) -> None:
        held: list[list[StoredEvent]] = []  # live batches that arrive before the catch-up
        caught_up = False
        while True:
            kind, item = await self.outbox.get()
            if kind == "send":
                await self.send_text(item)
            elif kind == "events":
                if caught_up:
                    await self._emit_new(item)
                else:
                    held.append(item)
            elif kind == "catchup":
                self.cursor = item
                if not await self._catch_up():
                    return
                for batch in held:
                    await self._emit_new(batch)
                held.clear()
                caught_up = True
                await self.caught_up()

    async def _catch_up(self) -> bool:
        """Replay the table after the cursor; False when the connection ends because the
        replay cannot be complete."""
        while True:
            start = self.cursor
            batch = await events_after(self.customer_id, start)
            # Read after the batch: had retention pruned anything after `start` before the
            # batch was read, this shows it (the watermark only grows).
            if start < await pruned_through(self.customer_id):
                if not await self.resume_too_old():
                    return False
                self.cursor = await last_event_id(self.customer_id)
                continue
            if not batch:
                return True
            await self._emit_new(batch)

    async def _emit_new(self, events: list[StoredEvent]) -> None:
        fresh = [e for e in events if e.id > self.cursor]
        if not fresh:
            return
        self.cursor = fresh[-1].id
        await self.emit(fresh)
        if any(self._about_me(e) for e in fresh):
            await self.agent_changed()

    def _about_me(self, event: StoredEvent) -> bool:
        """An `agent_updated` about this connection's agent: it may have been deactivated
        or deleted (the payload's id is near its start: no need to decode it)."""
        agent_id = self.principal.agent_id
        return (
            bool(agent_id)
            and event.type == EventType.AGENT_UPDATED
            and f'"id":"{agent_id}"'.encode() in bytes(event.payload)
        )

    def may_see(self, event: StoredEvent) -> bool:
        return may_see_event(self.principal, event.type, event.audience)

"""What every live connection shares: it registers with the hub, catches up from the
event table (from `since`, or from the moment it registered), then follows the live
stream; a cursor makes sure each event is handled once, in order.

Subclasses say what to do with events (`emit`) and may queue control messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from app.domain.enums import is_private_to_audience
from app.domain.principal import Principal
from app.realtime.hub import Hub
from app.services.events import StoredEvent, events_after

log = logging.getLogger(__name__)

MAX_BACKLOG = 10_000
"""Batches queued for a client that does not read; past it the client is dropped (close
code 1013) and may resume with `since`."""


class EventConnection:
    def __init__(self, principal: Principal, hub: Hub) -> None:
        self.principal = principal
        self.customer_id = principal.customer_id
        self.hub = hub
        self.cursor = 0
        self.outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.registered = False
        self.writer: asyncio.Task | None = None

    # -- for subclasses ----------------------------------------------------------------

    async def emit(self, events: list[StoredEvent]) -> None:
        """Handle new events (each seen once, in id order)."""
        raise NotImplementedError

    async def send_text(self, text: str) -> None:
        raise NotImplementedError

    async def caught_up(self) -> None:
        """Called once the catch-up from the table is done."""

    # -- machinery ---------------------------------------------------------------------

    def deliver(self, events: list[StoredEvent]) -> None:
        """The hub calls this with each batch of this customer's new events."""
        if self.outbox.qsize() <= MAX_BACKLOG:
            self.outbox.put_nowait(("events", events))

    def queue_text(self, text: str) -> None:
        self.outbox.put_nowait(("send", text))

    @property
    def overloaded(self) -> bool:
        return self.outbox.qsize() > MAX_BACKLOG

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

    async def _write(self) -> None:
        try:
            await self._write_loop()
        except asyncio.CancelledError:
            raise
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
                while batch := await events_after(self.customer_id, self.cursor):
                    await self._emit_new(batch)
                for batch in held:
                    await self._emit_new(batch)
                held.clear()
                caught_up = True
                await self.caught_up()

    async def _emit_new(self, events: list[StoredEvent]) -> None:
        fresh = [e for e in events if e.id > self.cursor]
        if not fresh:
            return
        self.cursor = fresh[-1].id
        await self.emit(fresh)

    def may_see(self, event: StoredEvent) -> bool:
        if is_private_to_audience(event.type):
            return self.principal.agent_id in event.audience
        if event.audience and not self.principal.sees_all_conversations:
            return self.principal.agent_id in event.audience
        return True

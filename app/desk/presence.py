"""Who is looking at which room, across every process: the "also viewing" line; and a web
chat visitor typing, told to the desks that have the visitor's room open.

Presence is not history, so it is not stored: each desk connection on a room announces
itself on the live bus (join, a heartbeat every 15 s, leave), and every process keeps a
map of room → agents that expires entries after 40 s without a heartbeat (a process that
died cannot say leave).

Typing is the same kind of thing, shorter lived: the widget's socket (app/widget/ws.py)
announces `{"type": "typing", "customer_id", "rooms"}` on the bus, at most once a second
per visitor; every process hands it to its desk connections on those rooms, which show
"Visitor is typing…" until no new signal has come for a few seconds (static/js/desk.js)
or the visitor's message arrives."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

HEARTBEAT = 15.0
EXPIRY = 40.0


class Viewer(Protocol):
    customer_id: str
    room_id: str | None
    agent_id: str
    agent_name: str

    def viewers_changed(self, names: dict[str, str]) -> None: ...

    def visitor_typing(self) -> None: ...


class Presence:
    def __init__(self, publish: Callable[[dict[str, Any]], Awaitable[None]] | None = None):
        self.publish = publish
        # (customer, room) -> agent_id -> (name, expires_at on the monotonic clock)
        self.rooms: dict[tuple[str, str], dict[str, tuple[str, float]]] = {}
        self.local: dict[tuple[str, str], set[Viewer]] = {}
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._beat())

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def join(self, viewer: Viewer, agent_id: str, name: str) -> None:
        key = (viewer.customer_id, viewer.room_id or "")
        self.local.setdefault(key, set()).add(viewer)
        await self._announce(key, agent_id, name, "join")
        self._seen(key, agent_id, name)
        viewer.viewers_changed(self.names(key))

    async def leave(self, viewer: Viewer, agent_id: str) -> None:
        key = (viewer.customer_id, viewer.room_id or "")
        viewers = self.local.get(key, set())
        viewers.discard(viewer)
        if not viewers:
            self.local.pop(key, None)
        if not any(getattr(v, "agent_id", None) == agent_id for v in viewers):
            await self._announce(key, agent_id, "", "leave")
            self._gone(key, agent_id)

    def names(self, key: tuple[str, str]) -> dict[str, str]:
        now = time.monotonic()
        return {a: n for a, (n, until) in self.rooms.get(key, {}).items() if until > now}

    async def typing(self, customer_id: str, room_ids: list[str]) -> None:
        """A web chat visitor in these rooms is typing (best effort, like presence)."""
        if self.publish is None or not room_ids:
            return
        with contextlib.suppress(Exception):
            await self.publish({"type": "typing", "customer_id": customer_id, "rooms": room_ids})

    def on_notice(self, notice: dict[str, Any]) -> None:
        if notice.get("type") == "typing":
            self._typing(notice)
            return
        if notice.get("type") != "presence":
            return
        key = (str(notice.get("customer_id")), str(notice.get("room")))
        if notice.get("state") == "leave":
            self._gone(key, str(notice.get("agent_id")))
        else:
            self._seen(key, str(notice.get("agent_id")), str(notice.get("name", "")))

    def _typing(self, notice: dict[str, Any]) -> None:
        customer_id = str(notice.get("customer_id"))
        rooms = notice.get("rooms")
        for room in rooms if isinstance(rooms, list) else ():
            for viewer in list(self.local.get((customer_id, str(room)), ())):
                viewer.visitor_typing()

    def _seen(self, key, agent_id: str, name: str) -> None:
        before = self.names(key)
        self.rooms.setdefault(key, {})[agent_id] = (name, time.monotonic() + EXPIRY)
        if self.names(key) != before:
            self._tell(key)

    def _gone(self, key, agent_id: str) -> None:
        if self.rooms.get(key, {}).pop(agent_id, None) is not None:
            self._tell(key)

    def _tell(self, key) -> None:
        names = self.names(key)
        for viewer in list(self.local.get(key, ())):
            viewer.viewers_changed(names)

    async def _announce(self, key, agent_id: str, name: str, state: str) -> None:
        if self.publish is None:
            return
        customer_id, room = key
        with contextlib.suppress(Exception):  # presence is best effort
            await self.publish(
                {
                    "type": "presence",
                    "customer_id": customer_id,
                    "room": room,
                    "agent_id": agent_id,
                    "name": name,
                    "state": state,
                }
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            for key, viewers in list(self.local.items()):
                for viewer in {getattr(v, "agent_id", ""): v for v in viewers}.values():
                    await self._announce(key, viewer.agent_id, viewer.agent_name, "beat")
                    self._seen(key, viewer.agent_id, viewer.agent_name)
            # forget agents whose process stopped sending heartbeats
            now = time.monotonic()
            for key, agents in list(self.rooms.items()):
                live = {a: v for a, v in agents.items() if v[1] > now}
                if len(live) != len(agents):
                    self.rooms[key] = live
                    self._tell(key)

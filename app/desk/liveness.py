"""Desk connections prove that their agent is there (auto-offline, app/routing/availability.py).

Each process counts the desk sockets it has open per agent. Opening one writes
`agents.tm_seen` (and brings back online an agent that went offline by itself); while any
is open, one UPDATE per heartbeat covers every such agent of the process; closing one
writes it once more, so the auto-offline time counts from the moment the last desk closed.
The state is in the database, so a process that dies simply stops proving life and its
agents go offline after the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from app.routing import availability

log = logging.getLogger(__name__)


class DeskLife:
    def __init__(self, heartbeat_seconds: float) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self.open: Counter[tuple[str, str]] = Counter()
        """(customer id, agent id) -> desk sockets open in this process."""
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._beat(), name="desk-liveness")

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def opened(self, customer_id: str, agent_id: str) -> None:
        self.open[(customer_id, agent_id)] += 1
        try:
            await availability.desk_opened(customer_id, agent_id)
        except Exception:  # noqa: BLE001 - the desk works without it; the beat retries
            log.exception("could not record the desk of agent %s", agent_id)

    async def closed(self, customer_id: str, agent_id: str) -> None:
        key = (customer_id, agent_id)
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]
        try:
            await availability.desks_alive([agent_id])
        except Exception:  # noqa: BLE001 - the timeout then counts from the last beat
            log.exception("could not record the desk of agent %s closing", agent_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            agent_ids = sorted({agent for _, agent in self.open})
            if not agent_ids:
                continue
            try:
                await availability.desks_alive(agent_ids)
            except Exception:  # noqa: BLE001 - next beat
                log.exception("desk heartbeat failed")

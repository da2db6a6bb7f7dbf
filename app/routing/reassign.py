"""The routing timer, every `CONVODESK_ROUTING_TICK` seconds:

- reassign-after: a room routing gave to an agent who has not replied within the team's
  `reassign_after` goes back to routing without that agent (engine.reassign_unanswered);
  one indexed query finds them (engine_store.overdue);
- a safety drain: a team whose queue waits while a member has room (a drain skipped a
  room another transaction held, a capacity changed outside the services) gets its queue
  served. Slots freed by the services are handed out at once, not by this timer.

Several processes may run it: each room is taken under its lock (SKIP LOCKED), each team's
drain under the team's lock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from app.core.events import transaction
from app.domain.timefmt import now
from app.routing import engine, engine_store
from app.settings import Settings

log = logging.getLogger(__name__)


async def sweep(at: datetime | None = None, batch: int = 200) -> int:
    """One round; returns how many rooms were reassigned. `at` is the clock."""
    at = at or now()
    reassigned = 0
    for customer_id, room_id in await engine_store.overdue(at, batch):
        async with transaction():
            if await engine.reassign_unanswered(customer_id, room_id, at=at):
                reassigned += 1
    for customer_id, team_id in await engine_store.teams_with_queue():
        async with transaction():
            await engine.drain(customer_id, [team_id], trigger="timer")
    return reassigned


async def run(settings: Settings) -> None:
    while True:
        try:
            reassigned = await sweep()
            if reassigned:
                log.info("routing: %d room(s) reassigned for want of a reply", reassigned)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("routing timer failed")
        await asyncio.sleep(settings.routing_tick_seconds)

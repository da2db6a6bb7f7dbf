"""The SLA worker: warnings and breaches that come by themselves, as time passes.

Every `CONVODESK_SLA_TICK` seconds it takes the running clocks whose warning time (80% of
the target counted) or due time has come, each with its room, `FOR UPDATE SKIP LOCKED`:
several workers share the job and never take one clock twice, and a room being changed
right now (a reply landing) is left to that change and taken at the next round. A warning
sets `warned_at` (once); a breach sets the clock `breached` at its due time. Each writes
its event, a system line and notifications (`tracking.alert`), and the room's summary
with a `conversation_sla_updated` when it moved. The clock is a parameter (`fire_due(at=…)`):
tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from app.conversations import store as conversations_store
from app.conversations.store import RoomRow
from app.core.events import transaction
from app.domain import sla
from app.domain.timefmt import now
from app.settings import Settings
from app.sla import store, tracking

log = logging.getLogger(__name__)


async def fire_due(at: datetime | None = None, batch: int = 200) -> tuple[int, int]:
    """One round at the time `at` (now by default). Returns (warnings, breaches)."""
    at = at or now()
    warned = breached = 0
    while True:
        async with transaction():
            due = await store.lock_due(at, batch)
            rooms: dict[str, RoomRow] = {}
            for item in due:
                row = item.clock
                key = str(row.conversation_id)
                if key not in rooms:
                    room = await conversations_store.room_of_customer(str(row.customer_id), key)
                    assert room is not None  # locked with its clock
                    rooms[key] = room
                clock = tracking.clock_of(row)
                applied = await store.policy_by_id(row.policy_id)
                calendar = tracking.policy_of(applied).calendar if applied else None
                if item.breach:
                    await store.mark(row.id, warned_at=None, breached=True)
                    clock.status, clock.stopped_at = sla.BREACHED, clock.due_at
                    breached += 1
                else:
                    await store.mark(row.id, warned_at=at, breached=False)
                    clock.warned_at = at
                    warned += 1
                await tracking.alert(
                    rooms[key], clock, breached=item.breach, at=at, calendar=calendar
                )
            for room in rooms.values():
                rows = await store.clocks(room.id)
                summary = tracking.summary_of(room, [tracking.clock_of(r) for r in rows])
                # the room's copy of its clocks follows the rows just marked
                moved = await store.set_summary(room.id, summary, tracking.state_of_rows(rows))
                if (room.sla_kind, room.sla_status, room.sla_due_at) != (
                    summary.kind,
                    summary.status,
                    summary.due_at,
                ):
                    await tracking.summary_event(moved)
        if len(due) < batch:
            return warned, breached


async def run(settings: Settings) -> None:
    while True:
        try:
            warned, breached = await fire_due()
            if warned or breached:
                log.info("sla: %d warning(s), %d breach(es)", warned, breached)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("sla worker failed")
        await asyncio.sleep(settings.sla_tick_seconds)

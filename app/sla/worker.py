"""The SLA worker: warnings and breaches that come by themselves, as time passes.

Every `CONVODESK_SLA_TICK` seconds it takes the rooms with a running clock whose warning
time (80% of the target counted) or due time has come (`conversations.sla_next_at`), `FOR
NO KEY UPDATE SKIP LOCKED`: several workers share the job and never take one room twice,
and a room being changed right now (a reply that stops a clock, which takes the room's
lock) is left to that change and taken at the next round. The room's copy of its clocks
says which are due. A warning sets `warned_at` (once); a breach sets the clock `breached`
at its due time. Each writes its event, a system line and notifications
(`tracking.alert`), and the room's summary (with a `conversation_sla_updated` when it
moved), its copy of its clocks and its next time. The clock is a parameter
(`fire_due(at=…)`): tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

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
            rooms = await store.lock_due(at, batch)
            for room in rooms:
                clocks = store.state_of(room.sla_state)
                after = []
                for stored in clocks:
                    due = stored.due_at
                    breach = stored.status == sla.RUNNING and due is not None and due <= at
                    warn = (
                        stored.status == sla.RUNNING
                        and stored.warned_at is None
                        and stored.warn_at is not None
                        and stored.warn_at <= at
                    )
                    if not (breach or warn):
                        after.append(stored)
                        continue
                    clock = tracking.clock_of(stored)
                    applied = await store.policy_by_id(stored.policy_id)
                    calendar = tracking.policy_of(applied).calendar if applied else None
                    if breach:
                        await store.mark(room.id, stored.kind, warned_at=None, breached=True)
                        clock.status, clock.stopped_at = sla.BREACHED, clock.due_at
                        breached += 1
                    else:
                        await store.mark(room.id, stored.kind, warned_at=at, breached=False)
                        clock.warned_at = at
                        warned += 1
                    after.append(tracking.stored_clock(clock))
                    await tracking.alert(room, clock, breached=breach, at=at, calendar=calendar)
                summary = tracking.summary_of(room, [tracking.clock_of(c) for c in after])
                # the room's copy of its clocks follows the rows just marked
                moved = await store.set_summary(room.id, summary, after)
                if (room.sla_kind, room.sla_status, room.sla_due_at) != (
                    summary.kind,
                    summary.status,
                    summary.due_at,
                ):
                    await tracking.summary_event(moved)
        if len(rooms) < batch:
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

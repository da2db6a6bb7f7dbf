"""The time triggers: `no_agent_reply` (the customer's turn has lasted `trigger_minutes`)
and `waiting_on_customer` (the agent's turn has). A room's turn begins with the message
that changed whose turn it is (`conversations.tm_turn`, kept by the message path); the
minutes are business minutes when the room has business hours (its team's calendar, else
the customer's), else wall-clock minutes.

A rule fires once per room and turn. The worker locks candidate rooms with SKIP LOCKED
(workers share the work), and the firing itself is the insert or first mark of the
rule's `automation_timers` row for that turn, in the transaction that runs the actions:
whichever worker marks it runs the actions, and a restart finds the mark. A room whose
business deadline is later gets a timer row saying when to look again, so it is not
reconsidered at every round.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from app.automation import engine, store
from app.automation.store import RuleRow
from app.business_hours import service as business_hours
from app.conversations import store as rooms
from app.core.events import transaction
from app.domain import business_time
from app.domain.automation import Trigger
from app.domain.business_time import Calendar
from app.domain.timefmt import now
from app.settings import Settings

log = logging.getLogger(__name__)

TURN = {Trigger.NO_AGENT_REPLY: "customer", Trigger.WAITING_ON_CUSTOMER: "agent"}
"""Whose turn each time trigger waits out (`conversations.sla_turn`)."""


Calendars = dict[tuple[uuid.UUID, uuid.UUID | None], Calendar | None]
"""The calendars a batch found so far, by customer and team: its rooms mostly share a
few, and each would otherwise cost a query."""


async def _due(
    room: rooms.RoomRow, anchor: datetime, minutes: int, calendars: Calendars
) -> datetime:
    """When the room's turn has lasted `minutes`, in its business time."""
    key = (room.customer_id, room.team_id)
    if key not in calendars:
        calendars[key] = await business_hours.calendar_for_room(
            None, str(room.customer_id), room.team_id
        )
    calendar = calendars[key]
    if calendar is None:
        return anchor + timedelta(minutes=minutes)
    due = business_time.add_business_seconds(calendar, anchor, minutes * 60)
    return due if due is not None else datetime.max.replace(tzinfo=anchor.tzinfo)


async def fire_rule(rule: RuleRow, at: datetime, batch: int) -> tuple[int, bool]:
    """One batch of one rule's due rooms, in one transaction: how many it acted on, and
    whether the batch was full (there may be more)."""
    compiled = engine.compile_rule(rule)
    minutes = rule.trigger_minutes or 0
    fired = 0
    calendars: Calendars = {}
    async with transaction():
        candidates = await store.lock_waiting_rooms(
            rule.customer_id,
            rule.id,
            TURN[Trigger(rule.trigger)],
            at - timedelta(minutes=minutes),
            at,
            batch,
        )
        for room in candidates:
            anchor = room.tm_turn
            assert anchor is not None  # lock_waiting_rooms' condition
            due = await _due(room, anchor, minutes, calendars)
            if due > at:
                await store.wait_until(rule.id, room.id, anchor, due)
                continue
            if not await store.claim_firing(rule.id, room.id, anchor, due, at):
                continue  # another worker fired it
            facts = await engine.facts_of(
                room, None, contact=compiled.needs_contact, hours=compiled.needs_hours, at=at
            )
            try:
                acted = await engine.fire(compiled, room, rule.trigger, 0, None, facts)
            except Exception:  # noqa: BLE001 - its savepoint undid it; the mark stays
                # a rule that cannot run on this room is not tried again every round
                log.exception("automation: rule %s failed in room %s", rule.id, room.id)
                continue
            if acted is not None:
                fired += 1
    return fired, len(candidates) == batch


async def fire_due(at: datetime | None = None, batch: int = 500) -> int:
    """One round: every active time rule's due rooms (the clock `at`; now by default).
    Returns how many rooms a rule matched and acted on."""
    at = at or now()
    total = 0
    for rule in await store.time_rules():
        more = True
        while more:
            fired, more = await fire_rule(rule, at, batch)
            total += fired
    return total


async def run(settings: Settings) -> None:
    while True:
        try:
            fired = await fire_due()
            if fired:
                log.info("automation: time rules acted on %d room(s)", fired)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("automation timer failed")
        await asyncio.sleep(settings.automation_tick_seconds)

"""Snooze: a room put away until a time, or until the customer replies, or both.

A snoozed room (`tm_snoozed` set) leaves the desk's open views and is listed under
"Snoozed". It wakes — `conversation_woke`, a system line, back at the top of the inbox and
unread — at its time (the worker below, every `CONVODESK_SNOOZE_TICK` seconds), with the
next inbound message (`messages.receive` calls `woken_by_message`), or by hand
(`DELETE …/snooze`). Closing a room ends its snooze without waking it.

A wake is one conditional `UPDATE` (`WHERE tm_snoozed IS NOT NULL`) on a locked row, so
several workers and a message arriving at the same moment wake a room once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from app.conversations import activities, rooms_store
from app.conversations import service as conversations
from app.conversations.shapes import room_event, room_out
from app.conversations.store import RoomRow
from app.core.events import transaction
from app.domain import sla as sla_rules
from app.domain.enums import ConversationStatus, EventType
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal
from app.domain.resources import ConversationOut
from app.domain.timefmt import now, parse
from app.people import agents
from app.settings import Settings
from app.sla import tracking as sla

log = logging.getLogger(__name__)


def parse_until(
    until: str | None, until_reply: bool, at: datetime | None = None
) -> datetime | None:
    """The snooze's end from a request: a time in the future, or none with `until_reply`;
    else InvalidInput (422)."""
    if until is None:
        if not until_reply:
            raise InvalidInput(
                "snooze_needs_an_end", "Say until when (until) or until the customer replies."
            )
        return None
    try:
        when = parse(until)
    except ValueError:
        raise InvalidInput("invalid_until", "until must be a time.") from None
    if when <= (at or now()):
        raise InvalidInput("until_in_the_past", "A snooze must end in the future.")
    return when


def _when(until: datetime) -> str:
    return until.strftime("%Y-%m-%d %H:%M UTC")


async def snooze(
    principal: Principal, conversation_id: str, until: str | None, until_reply: bool
) -> ConversationOut:
    """`POST /v1.0/conversations/{id}/snooze`; snoozing a snoozed room sets its new end."""
    end = parse_until(until, until_reply)
    async with transaction():
        room = await conversations.get_room(principal, conversation_id, lock=True)
        return await snooze_locked(principal, room, end, until_reply)


async def snooze_locked(
    principal: Principal, room: RoomRow, end: datetime | None, until_reply: bool
) -> ConversationOut:
    """Snooze a room the caller found (as `principal`) and locked in its transaction."""
    if room.status == ConversationStatus.CLOSED.value:
        raise Conflict("conversation_closed", "A closed conversation cannot be snoozed.")
    was_snoozed = room.tm_snoozed is not None
    stamp = now()
    room = await rooms_store.snooze(room.id, end, until_reply, stamp)
    if not was_snoozed:  # the SLA clocks pause (a new end for a snooze changes nothing)
        room = await sla.on_change(room, [sla_rules.SNOOZED], stamp)
    out = await room_out(room)
    await room_event(EventType.CONVERSATION_SNOOZED, out)
    actor = await agents.display_name(principal)
    if end is not None and until_reply:
        what = f"until {_when(end)} or until the customer replies"
    elif end is not None:
        what = f"until {_when(end)}"
    else:
        what = "until the customer replies"
    await activities.record(
        room, activities.SYSTEM, f"{actor} snoozed the conversation {what}", principal.agent_id
    )
    return out


async def wake(principal: Principal, conversation_id: str) -> ConversationOut:
    """`DELETE /v1.0/conversations/{id}/snooze`: wake the room now."""
    async with transaction():
        room = await conversations.get_room(principal, conversation_id, lock=True)
        if room.tm_snoozed is None:
            raise Conflict("not_snoozed", "This conversation is not snoozed.")
        actor = await agents.display_name(principal)
        out = await _wake(room, f"Snooze ended by {actor}", principal.agent_id)
        assert out is not None  # the room is locked and snoozed
        return out


async def woken_by_message(room: RoomRow) -> RoomRow:
    """The customer wrote in a snoozed room (inside the inbound transaction, the room
    locked): it wakes. Returns the room as it now is."""
    stamp = now()
    woke = await rooms_store.wake(room.id, stamp)
    if woke is None:
        return room
    woke = await sla.on_change(woke, [sla_rules.WOKE], stamp)
    await room_event(EventType.CONVERSATION_WOKE, await room_out(woke))
    await activities.record(woke, activities.SYSTEM, "Snooze ended: the customer replied")
    return woke


async def _wake(room: RoomRow, line: str, agent_id: str | None = None) -> ConversationOut | None:
    stamp = now()
    woke = await rooms_store.wake(room.id, stamp)
    if woke is None:
        return None
    woke = await sla.on_change(woke, [sla_rules.WOKE], stamp)
    # back in the inbox as unread: the last customer message shows as new again
    await rooms_store.unread_again(woke.id)
    out = await room_out(woke)
    await room_event(EventType.CONVERSATION_WOKE, out)
    await activities.record(woke, activities.SYSTEM, line, agent_id)
    return out


async def wake_due(at: datetime | None = None, batch: int = 200) -> int:
    """One round of the worker: wake every room whose snooze time is at or before `at`
    (the clock; now by default). Returns how many woke."""
    at = at or now()
    woke = 0
    while True:
        async with transaction():
            rows = await rooms_store.lock_due(at, batch)
            for row in rows:
                assert row.snoozed_until is not None  # lock_due's condition
                line = f"Snooze ended at {row.snoozed_until.strftime('%H:%M')} UTC"
                if await _wake(row, line) is not None:
                    woke += 1
        if len(rows) < batch:
            return woke


async def run(settings: Settings) -> None:
    while True:
        try:
            woke = await wake_due()
            if woke:
                log.info("snooze: %d room(s) woke", woke)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("snooze worker failed")
        await asyncio.sleep(settings.snooze_tick_seconds)

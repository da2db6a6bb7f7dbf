"""The out-of-hours reply: a customer who writes while the room's business hours are
closed is told when they open, once per closed period.

Per channel account (`closed_reply` `on`, `closed_reply_text`); the room's calendar is
its team's, else the customer's (none: never closed, so never a reply). "Once per closed
period": a room that got one gets another only after the calendar has opened since. The
inbound path asks only when the account has it on, and then in one round trip (the
calendar and the room's last reply together: `store.closed_reply_facts`). A calendar that
never opens again has no time to announce, so it sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from app.business_hours import store
from app.business_hours.service import stored_calendar
from app.domain.business_time import is_open, next_open
from app.domain.closed_reply import closed_text


def wanted(settings: Mapping[str, Any]) -> bool:
    """Whether the account answers out of hours (free: no query when it does not)."""
    return settings.get("closed_reply") == "on"


async def reply_for(
    settings: Mapping[str, Any],
    customer_id: UUID,
    team_id: UUID | None,
    room_id: UUID,
    at: datetime,
) -> str | None:
    """The text to answer a customer's message at `at` in the room with, or None: the
    account does not answer out of hours, the room's calendar is open (or it has none),
    the room was answered already in this closed period, or the calendar never opens."""
    if not wanted(settings):
        return None
    facts = await store.closed_reply_facts(str(customer_id), team_id, room_id)
    if facts is None:
        return None
    calendar = stored_calendar(facts)
    if is_open(calendar, at):
        return None
    if facts.last_sent is not None:
        reopened = next_open(calendar, facts.last_sent)
        if reopened is None or reopened > at:
            return None  # still the closed period the last reply was sent in
    opens = next_open(calendar, at)
    if opens is None:
        return None
    template = settings.get("closed_reply_text")
    return closed_text(template if isinstance(template, str) else "", opens, facts.time_zone, at)


async def sent(customer_id: UUID, room_id: UUID, message_id: UUID, at: datetime) -> None:
    """Remember the reply (in the caller's transaction, which holds the room's lock)."""
    await store.closed_reply_sent(customer_id, room_id, message_id, at)

"""The survey worker: sends the surveys whose time has come, every `CONVODESK_CSAT_TICK`
seconds, and at once when a room closes (a `conversation_closed` notice wakes it, so a
survey with no delay goes out with the close).

A round claims due surveys with their rooms (`FOR NO KEY UPDATE OF s, c SKIP LOCKED`): several
workers share the job and each survey goes out once. A room open again by then cancels
its survey (closing it again schedules it anew); a channel account or participant that is
gone, or surveys turned off on the account, skip it. What goes out depends on the channel
of the customer's last message:

- SMS, LINE, WhatsApp: the question as a message; their next message, if it is a digit
  1-5, answers it (`conversations.messages.receive`).
- Email: a message with a signed link to the survey page (`/csat/{token}`).
- Web chat: no message; the widget shows its rating card (`csat_survey_sent` reaches
  the visitor's socket, and the widget's history carries the card after a reload).

Each sent survey is `csat_survey_sent` and a line in the room's timeline. The clock is a
parameter (`send_due(at=…)`), so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from app.channels import account_store, accounts, runtime
from app.conversations import activities, messages
from app.conversations import store as conversations_store
from app.conversations.store import RoomRow
from app.core.events import transaction
from app.csat import shapes, store
from app.csat.store import SurveyRow
from app.domain import csat as rules
from app.domain.enums import ConversationStatus
from app.domain.timefmt import now
from app.settings import Settings

log = logging.getLogger(__name__)


def survey_url(survey_id: str) -> str:
    """The public page an email survey links to."""
    settings = runtime.settings()
    token = rules.token_for(settings.require_secret_key(), survey_id)
    return f"{settings.public_url}/csat/{token}"


async def _deliver(survey: SurveyRow, room: RoomRow) -> bool:
    """Send one claimed survey (its room locked too). Returns whether it went out."""
    at = now()
    if room.status != ConversationStatus.CLOSED.value or room.tm_delete is not None:
        await store.set_status(survey.id, store.CANCELED, at)
        return False
    account = await account_store.live_of_customer_by_id(
        str(room.customer_id), str(survey.account_id)
    )
    participant = await conversations_store.live_participant_by_id(
        room.id, str(survey.participant_id)
    )
    settings = rules.settings_of(account.settings) if account is not None else None
    if account is None or participant is None or settings is None or not settings.enabled:
        await store.set_status(survey.id, store.SKIPPED, at)
        return False
    channel = accounts.reference_of(account)
    message_id = None
    if channel not in rules.WIDGET_CHANNELS:
        if channel in rules.LINK_CHANNELS:
            text = rules.link_text(settings.question, survey_url(str(survey.id)))
        else:
            text = settings.question
        sent = await messages.send_system_message(room, participant, account, text)
        message_id = sent.id
    row = await store.mark_sent(
        survey.id,
        reference_type=channel.value,
        question=settings.question,
        message_id=message_id,
        at=at,
    )
    await shapes.survey_event(row, room.owner_id)
    where = rules.CHANNEL_NAMES.get(channel.value, channel.value)
    await activities.record(room, activities.SYSTEM, f"Satisfaction survey sent by {where}")
    return True


async def send_due(at: datetime | None = None, batch: int = 100) -> int:
    """One round: send every survey due at or before `at` (the clock; now by default).
    Returns how many went out."""
    at = at or now()
    sent = 0
    while True:
        async with transaction():
            claimed = await store.claim_due(at, batch)
            for survey, room in claimed:
                if await _deliver(survey, room):
                    sent += 1
        if len(claimed) < batch:
            return sent


async def run(settings: Settings, wake: asyncio.Event) -> None:
    while True:
        wake.clear()
        try:
            sent = await send_due()
            if sent:
                log.info("csat: %d survey(s) sent", sent)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("csat worker failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), settings.csat_tick_seconds)

"""The send queue: claiming due outbound messages, and recording what the provider said.

A claim is a lease (`lease_until`): a worker that dies mid-send leaves its rows to be
claimed again once the lease runs out, so a restart loses nothing. Transient failures are
retried with backoff; permanent ones (and exhausted retries) fail the message with the
provider's reason.
"""

from __future__ import annotations

import random
from datetime import timedelta

from app.channels import runtime
from app.conversations import message_store as messages_store
from app.conversations import messages
from app.conversations import store as conversations_store
from app.conversations.message_store import Claimed, MessageRow
from app.core.events import transaction
from app.domain import storable
from app.domain.enums import MessageStatus
from app.domain.timefmt import now

MAX_ATTEMPTS = 8
# Seconds before the 2nd, 3rd, ... attempt; the last repeats. About 40 minutes in all.
BACKOFF = [2, 10, 30, 60, 120, 300, 600, 1200]


async def claim_due(limit: int = 20) -> list[Claimed]:
    at = now()
    lease = timedelta(seconds=runtime.settings().send_lease_seconds)
    return await messages_store.claim_due(at, at + lease, limit)


async def load(claim: Claimed) -> MessageRow | None:
    return await messages_store.by_id(claim.message_id)


async def start_scheduled(claim: Claimed) -> MessageRow | None:
    """A claimed scheduled message, now going out; None when it is not to be sent now (not
    yet due: back in the queue; canceled, or its room deleted: out of the queue)."""
    started = await messages.start_scheduled(claim.message_id, claim.queue_id)
    if started is None:
        message = await messages_store.by_id(claim.message_id)
        moved = (
            message is not None
            and message.status == MessageStatus.SCHEDULED.value
            and message.scheduled_at is not None
            and message.scheduled_at > now()
        )
        if not moved:  # canceled, or its room is gone: never to be sent
            await _finish(claim, "done", "not sent")
    return started


async def thread(message: MessageRow, limit: int = 30) -> list[str]:
    """The provider ids of the room's earlier messages on the same account, oldest first
    (the last `limit`): what an email reply cites in In-Reply-To and References."""
    return list(reversed(await messages_store.earlier_provider_ids(message, limit)))


async def subject(message: MessageRow) -> str:
    return await conversations_store.name_of(message.conversation_id)


async def _finish(claim: Claimed, status: str, reason: str = "") -> None:
    await messages_store.finish(claim.queue_id, status, reason, now())


async def succeeded(claim: Claimed, provider_message_id: str, delivered: bool) -> None:
    # what a provider answers is stored as it wrote it, less what PostgreSQL cannot hold
    provider_message_id = storable.text(provider_message_id)
    async with transaction():
        await _finish(claim, "done")
        if delivered:
            await messages.record_outcome(
                claim.message_id, status=MessageStatus.DONE, provider_message_id=provider_message_id
            )
        if provider_message_id:
            # to match the provider's status callbacks (the ones that decide when not
            # `delivered`, and any that raced ahead of this response)
            await messages.remember_provider_id(
                claim.message_id, claim.account_id, provider_message_id, stored=delivered
            )


async def failed(claim: Claimed, reason: str) -> None:
    reason = storable.text(reason)
    async with transaction():
        await _finish(claim, "failed", reason)
        await messages.record_outcome(claim.message_id, status=MessageStatus.FAILED, error=reason)


async def retry_later(claim: Claimed, reason: str, retry_after: float | None = None) -> None:
    if claim.attempts >= MAX_ATTEMPTS:
        await failed(claim, f"{reason} (gave up after {claim.attempts} attempts)")
        return
    reason = storable.text(reason)
    backoff = BACKOFF[min(claim.attempts - 1, len(BACKOFF) - 1)]
    delay = max(backoff * random.uniform(0.8, 1.2), retry_after or 0)
    await messages_store.retry_at(claim.queue_id, reason, now() + timedelta(seconds=delay), now())

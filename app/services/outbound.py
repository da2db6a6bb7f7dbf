"""The send queue: claiming due outbound messages, and recording what the provider said.

A claim is a lease (`lease_until`): a worker that dies mid-send leaves its rows to be
claimed again once the lease runs out, so a restart loses nothing. Transient failures are
retried with backoff; permanent ones (and exhausted retries) fail the message with the
provider's reason.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import msgspec

from app.channels import runtime
from app.db import sql
from app.db.tables import OutboundMessage
from app.domain import storable
from app.domain.enums import MessageStatus
from app.domain.timefmt import now
from app.services import messages
from app.services.events import connection, transaction

MAX_ATTEMPTS = 8
# Seconds before the 2nd, 3rd, ... attempt; the last repeats. About 40 minutes in all.
BACKOFF = [2, 10, 30, 60, 120, 300, 600, 1200]


class Claimed(msgspec.Struct, kw_only=True):
    queue_id: int
    message_id: str
    account_id: str
    attempts: int


async def claim_due(limit: int = 20) -> list[Claimed]:
    at = now()
    lease = timedelta(seconds=runtime.settings().send_lease_seconds)
    rows = await OutboundMessage.raw(
        "UPDATE outbound_messages SET status = 'sending', attempts = attempts + 1,"
        " lease_until = {}, tm_update = {}"
        " WHERE id IN (SELECT id FROM outbound_messages"
        "   WHERE (status = 'queued' AND next_try_at <= {})"
        "      OR (status = 'sending' AND lease_until < {})"
        "   ORDER BY next_try_at LIMIT {} FOR UPDATE SKIP LOCKED)"
        " RETURNING id, message_id, account_id, attempts",
        at + lease,
        at,
        at,
        at,
        limit,
    )
    return [
        Claimed(
            queue_id=r["id"],
            message_id=str(r["message_id"]),
            account_id=str(r["account_id"]),
            attempts=r["attempts"],
        )
        for r in rows
    ]


async def load(claim: Claimed) -> Any:
    return await sql.fetchrow("SELECT * FROM messages WHERE id = $1", claim.message_id)


async def thread(message: Any, limit: int = 30) -> list[str]:
    """The provider ids of the room's earlier messages on the same account, oldest first
    (the last `limit`): what an email reply cites in In-Reply-To and References."""
    rows = await sql.fetch(
        "SELECT provider_message_id FROM messages WHERE conversation_id = $1"
        " AND account_id = $2 AND provider_message_id <> '' AND tm_create <= $3 AND id <> $4"
        " ORDER BY tm_create DESC LIMIT $5",
        message["conversation_id"],
        message["account_id"],
        message["tm_create"],
        message["id"],
        limit,
    )
    return [r["provider_message_id"] for r in reversed(rows)]


async def subject(message: Any) -> str:
    return (
        await sql.fetchval(
            "SELECT name FROM conversations WHERE id = $1", message["conversation_id"]
        )
        or ""
    )


async def _finish(claim: Claimed, status: str, reason: str = "") -> None:
    await connection().execute(
        "UPDATE outbound_messages SET status = $2, last_error = $3, tm_update = $4 WHERE id = $1",
        claim.queue_id,
        status,
        reason,
        now(),
    )


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
    delay = BACKOFF[min(claim.attempts - 1, len(BACKOFF) - 1)]
    delay = max(delay * random.uniform(0.8, 1.2), retry_after or 0)
    await OutboundMessage.update(
        {
            OutboundMessage.status: "queued",
            OutboundMessage.last_error: reason,
            OutboundMessage.next_try_at: now() + timedelta(seconds=delay),
            OutboundMessage.lease_until: None,
            OutboundMessage.tm_update: now(),
        }
    ).where(OutboundMessage.id == claim.queue_id)

"""The outbound sender: hands queued messages to their channel's driver."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import msgspec

from app.channels import (
    OutboundRequest,
    PermanentSendError,
    TransientSendError,
    accounts,
    get_driver,
)
from app.conversations import outbound
from app.domain.enums import MessageStatus
from app.domain.errors import NotFound

log = logging.getLogger(__name__)
SEND_TIMEOUT = 30.0


async def send_one(claim: outbound.Claimed) -> None:
    message = await outbound.load(claim)
    if message is not None and message.status == MessageStatus.SCHEDULED.value:
        # send later: due now, it becomes an ordinary reply (once: the message's lock and
        # status decide, whichever sender holds the claim); not due, or canceled meanwhile,
        # it is not sent now
        message = await outbound.start_scheduled(claim)
        if message is None:
            return
    if message is None or message.status != MessageStatus.PROGRESSING.value:
        await outbound.succeeded(claim, message.provider_message_id if message else "", False)
        return
    try:
        # read afresh every time: an admin who fixes credentials and retries at once must
        # not meet the old ones
        account = await accounts.get_account(str(message.customer_id), claim.account_id)
    except NotFound:
        await outbound.failed(claim, "The channel account was removed.")
        return
    driver = get_driver(account.type)
    request = OutboundRequest(
        message_id=str(message.id),
        to=message.reference_id,
        text=message.text,
        medias=msgspec.to_builtins(message.medias),
        conversation_id=str(message.conversation_id),
        attempt=claim.attempts,
    )
    if getattr(driver, "threads", False):
        request.thread = await outbound.thread(message)
        request.subject = await outbound.subject(message)
    try:
        async with asyncio.timeout(SEND_TIMEOUT):
            result = await driver.send(account, request)
    except PermanentSendError as exc:
        await outbound.failed(claim, exc.reason)
    except TransientSendError as exc:
        await outbound.retry_later(claim, exc.reason, exc.retry_after)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        await outbound.retry_later(claim, f"{type(exc).__name__}: {exc}".rstrip(": "))
    except Exception as exc:  # noqa: BLE001 - a driver bug must not stop the queue
        log.exception("channel driver %s failed on message %s", account.type, claim.message_id)
        await outbound.retry_later(claim, f"internal error: {type(exc).__name__}")
    else:
        await outbound.succeeded(claim, result.provider_message_id, result.delivered)


async def run(wake: asyncio.Event, *, concurrency: int = 32, poll: float = 0.5) -> None:
    """Send until cancelled, keeping up to `concurrency` messages at providers and claiming
    the next as soon as one finishes — not batch by batch, where one slow provider call
    would hold back the rest. `wake` is set when a new message may be waiting."""
    running: set[asyncio.Task] = set()
    slot_free = asyncio.Event()

    def finished(task: asyncio.Task) -> None:
        running.discard(task)
        slot_free.set()
        if not task.cancelled() and task.exception() is not None:
            # its lease runs out and the message is tried again
            log.error("sending a message failed: %r", task.exception())

    try:
        while True:
            free = concurrency - len(running)
            claims: list[outbound.Claimed] = []
            if free > 0:
                try:
                    claims = await outbound.claim_due(limit=free)
                except Exception:  # noqa: BLE001 - the database may be briefly away
                    log.exception("could not claim outbound messages")
                    await asyncio.sleep(poll)
                    continue
            for claim in claims:
                task = asyncio.create_task(send_one(claim))
                running.add(task)
                task.add_done_callback(finished)
            if free > 0 and len(claims) == free:
                continue  # the queue may hold more; we are full now, so wait for a slot next
            if len(running) >= concurrency:
                slot_free.clear()
                await slot_free.wait()
                continue
            # the queue is drained for now: wait for news (or poll, for retries coming due)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    await wake.wait()
            wake.clear()
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

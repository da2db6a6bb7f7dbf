"""The outbound sender: hands queued messages to their channel's driver."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from app.channels import (
    OutboundRequest,
    PermanentSendError,
    TransientSendError,
    get_driver,
)
from app.domain.enums import MessageStatus
from app.domain.errors import NotFound
from app.services import accounts, outbound
from app.services.messages import decoded

log = logging.getLogger(__name__)
SEND_TIMEOUT = 30.0


async def send_one(claim: outbound.Claimed) -> None:
    message = await outbound.load(claim)
    if message is None or message["status"] != MessageStatus.PROGRESSING.value:
        await outbound.succeeded(claim, message["provider_message_id"] if message else "", False)
        return
    try:
        account = await accounts.get_account(str(message["customer_id"]), claim.account_id)
    except NotFound:
        await outbound.failed(claim, "The channel account was removed.")
        return
    request = OutboundRequest(
        message_id=str(message["id"]),
        to=message["reference_id"],
        text=message["text"],
        medias=decoded(message["medias"]),
        conversation_id=str(message["conversation_id"]),
        attempt=claim.attempts,
    )
    try:
        async with asyncio.timeout(SEND_TIMEOUT):
            result = await get_driver(account["type"]).send(account, request)
    except PermanentSendError as exc:
        await outbound.failed(claim, exc.reason)
    except TransientSendError as exc:
        await outbound.retry_later(claim, exc.reason, exc.retry_after)
    except (TimeoutError, httpx.HTTPError, OSError) as exc:
        await outbound.retry_later(claim, f"{type(exc).__name__}: {exc}".rstrip(": "))
    except Exception as exc:  # noqa: BLE001 - a driver bug must not stop the queue
        log.exception("channel driver %s failed on message %s", account["type"], claim.message_id)
        await outbound.retry_later(claim, f"internal error: {type(exc).__name__}")
    else:
        await outbound.succeeded(claim, result.provider_message_id, result.delivered)


async def run(wake: asyncio.Event, *, concurrency: int = 8, poll: float = 0.5) -> None:
    """Send until cancelled. `wake` is set when a new message may be waiting."""
    while True:
        try:
            claims = await outbound.claim_due(limit=concurrency)
        except Exception:  # noqa: BLE001 - the database may be briefly away
            log.exception("could not claim outbound messages")
            await asyncio.sleep(poll)
            continue
        if not claims:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    await wake.wait()
            wake.clear()
            continue
        results = await asyncio.gather(*(send_one(c) for c in claims), return_exceptions=True)
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, Exception):
                # The lease runs out and the message is tried again.
                log.error("sending message %s failed: %r", claim.message_id, result)

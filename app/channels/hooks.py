"""Provider webhooks: find the account the URL names, let its driver check the signature
and read the body, then store what it found through the one inbound entry point.

Providers redeliver whatever we do not answer with a 2xx — for days — so a signed call
is answered 2xx whenever everything in it was either stored or refused for good: an event
the driver could not read, or one whose values the database refuses, goes into the
rejected-inbound log (`channels.rejected`) and the other events of the batch are stored
as usual. Only a failure that may pass (the database or a provider's media API away: a
5xx) is answered with an error, and the provider's redelivery stores nothing twice, since
every message carries the provider's id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import asyncpg
import msgspec

from app.channels import (
    HookOutcome,
    HookRequest,
    Rejected,
    StatusUpdate,
    accounts,
    get_driver,
    rejected,
    runtime,
)
from app.channels.account_store import AccountRow
from app.conversations import messages
from app.domain.errors import ServiceError, Unauthenticated
from app.domain.inbound import InboundMessage

log = logging.getLogger(__name__)

# What PostgreSQL says about a value it will never take (SQLSTATE classes 22 and 54, and
# asyncpg's own refusal to encode one): storing it again cannot succeed.
_REFUSED_VALUES = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)


async def handle(account_type: str, account_id: str, request: HookRequest) -> HookOutcome:
    account = await accounts.account_for_hook(account_type, account_id)
    driver = get_driver(account.type)
    if not driver.verify(account, request):
        raise Unauthenticated(
            "invalid_signature",
            f"The request's {driver.label} signature does not match this account's secret.",
        )
    outcome = await driver.parse(account, request)
    region = runtime.settings().default_region
    for refused in outcome.rejected:
        await rejected.record(account, refused)
    for greeting in outcome.greetings:
        await _store(account, greeting, messages.greet(account, greeting, default_region=region))
    for inbound in outcome.messages:
        await store_inbound(account, inbound)
    for status in outcome.statuses:
        await _store(account, status, messages.provider_status(account, status))
    return outcome


async def store_inbound(account: AccountRow, inbound: InboundMessage) -> bool:
    """Store one inbound message, or log it as rejected when it can never be stored
    (True when stored). Also the SMTP listener's way in."""
    region = runtime.settings().default_region
    return await _store(account, inbound, messages.receive(account, inbound, default_region=region))


async def _store(
    account: AccountRow, item: InboundMessage | StatusUpdate, storing: Awaitable[Any]
) -> bool:
    """Run `storing`; a refusal for good goes into the rejected-inbound log instead of
    failing the whole call. Errors that may pass are raised (the provider will retry)."""
    try:
        await storing
        return True
    except ServiceError as exc:
        if exc.status_code >= 500:
            raise
        await rejected.record(account, _rejection(item, exc.message))
    except _REFUSED_VALUES as exc:
        reason = f"the database refused a value: {str(exc).splitlines()[0]}"
        await rejected.record(account, _rejection(item, reason))
    return False


def _rejection(item: InboundMessage | StatusUpdate, reason: str) -> Rejected:
    if isinstance(item, InboundMessage):
        raw = item.raw or msgspec.to_builtins({**msgspec.structs.asdict(item), "raw": ""})
        return Rejected(provider_event_id=item.provider_message_id, reason=reason, raw=raw)
    # a delivery status
    return Rejected(
        provider_event_id=f"status:{item.provider_message_id}",
        reason=reason,
        raw=msgspec.to_builtins(item),
    )

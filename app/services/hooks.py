"""Provider webhooks: find the account the URL names, let its driver check the signature
and read the body, then store what it found through the one inbound entry point.

Providers retry whatever we do not answer with a 2xx, and every message carries the
provider's id, so a batch (LINE and WhatsApp send several events at once) is processed
whole even when one event is bad: the good ones are stored, the error is answered, and
the provider's retry stores nothing twice.
"""

from __future__ import annotations

import logging

from app.channels import HookOutcome, HookRequest, get_driver, runtime
from app.domain.errors import ServiceError, Unauthenticated
from app.services import accounts, messages

log = logging.getLogger(__name__)


async def handle(account_type: str, account_id: str, request: HookRequest) -> HookOutcome:
    account = await accounts.account_for_hook(account_type, account_id)
    driver = get_driver(account["type"])
    if not driver.verify(account, request):
        raise Unauthenticated(
            "invalid_signature",
            f"The request's {driver.label} signature does not match this account's secret.",
        )
    outcome = await driver.parse(account, request)
    region = runtime.settings().default_region
    first_error: ServiceError | None = None
    for greeting in outcome.greetings:
        try:
            await messages.greet(account, greeting, default_region=region)
        except ServiceError as exc:
            first_error = first_error or exc
    for inbound in outcome.messages:
        try:
            await messages.receive(account, inbound, default_region=region)
        except ServiceError as exc:
            log.warning("%s hook %s: message refused: %s", account_type, account_id, exc)
            first_error = first_error or exc
    for status in outcome.statuses:
        await messages.provider_status(account, status)
    if first_error is not None:
        raise first_error
    return outcome

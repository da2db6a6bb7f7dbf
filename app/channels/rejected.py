"""The rejected-inbound log: events a provider delivered (signed) that could not become a
message — malformed, or carrying a value we refuse. Providers redeliver whatever is not
answered 2xx, for days; a bad event would come back forever and hide among the retries.
So the hook stores the good events, records the bad one here, and answers 2xx; admins see
the log on the channel's page and at `GET /v1.0/conversation_accounts/{id}/rejected`.
"""

from __future__ import annotations

import logging

from app.channels import Rejected, accounts
from app.channels.account_store import AccountRow
from app.conversations import message_store as messages_store
from app.conversations.message_store import RejectedRow
from app.domain import storable
from app.domain.principal import Principal, require_admin
from app.domain.resources import RejectedInboundOut
from app.domain.timefmt import fmt, now

log = logging.getLogger(__name__)

MAX_REASON = 500


async def record(account: AccountRow, rejected: Rejected) -> None:
    """Keep one refused event, once per (account, provider event id): a redelivery of the
    same event adds nothing."""
    event_id = storable.text(rejected.provider_event_id)
    reason = storable.text(rejected.reason)[:MAX_REASON]
    log.warning(
        "%s account %s: rejected inbound event %r: %s",
        account.type,
        account.id,
        event_id[:100],
        reason,
    )
    await messages_store.keep_rejected(
        account.customer_id, account.id, event_id, reason, storable.excerpt(rejected.raw), now()
    )


def rejected_out(row: RejectedRow) -> RejectedInboundOut:
    return RejectedInboundOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        account_id=str(row.account_id),
        provider_event_id=row.provider_event_id,
        reason=row.reason,
        excerpt=row.excerpt,
        tm_create=fmt(row.tm_create),
    )


async def list_rejected(
    principal: Principal, account_id: str, page_size: int = 100, page_token: str | None = None
) -> tuple[list[RejectedInboundOut], str]:
    """An account's rejected events, newest first (admins only; 404 for an account of
    another customer)."""
    require_admin(principal)
    account = await accounts.get_account(principal.customer_id, account_id)
    rows, token = await messages_store.rejected_page(
        principal.customer_id, account.id, page_size, page_token
    )
    return [rejected_out(r) for r in rows], token

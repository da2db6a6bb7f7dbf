"""Customers (tenants): creation with their first admin, and their settings."""

from __future__ import annotations

import msgspec

from app.audit import log as audit
from app.business_hours.service import check_business_hours
from app.channels import runtime
from app.core.events import last_event_id, transaction
from app.domain.enums import Permission
from app.domain.errors import InvalidInput, NotFound
from app.domain.principal import Principal, require_admin
from app.domain.resources import CustomerOut, CustomerUpdate, WebhookSecretOut
from app.domain.timefmt import fmt, now
from app.people import agent_store, agents, customer_store
from app.people.customer_store import CustomerChanges, CustomerRow
from app.webhooks import targets as webhook_targets
from app.webhooks.signature import new_secret, previous_signs_until

UNSET = msgspec.UNSET


def customer_out(row: CustomerRow) -> CustomerOut:
    return CustomerOut(
        id=str(row.id),
        name=row.name,
        detail=row.detail,
        webhook_method=row.webhook_method,
        webhook_uri=row.webhook_uri,
        webhook_events=list(row.webhook_events or []),
        webhook_status="disabled" if row.webhook_disabled_at else "enabled",
        webhook_disabled_reason=row.webhook_disabled_reason,
        business_hours_id=str(row.business_hours_id) if row.business_hours_id else None,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


async def create_customer(
    *, name: str, username: str, password: str, agent_name: str = ""
) -> tuple[CustomerOut, str]:
    """A new customer and its first admin agent; returns the customer and the agent's id."""
    name = name.strip()
    if not name:
        raise InvalidInput("invalid_name", "A customer needs a name.")
    admin = agents.validated_create(
        username=username,
        password=password,
        name=agent_name or "Administrator",
        permission=Permission.ADMIN.value,
    )
    async with transaction():
        row = await customer_store.insert(name, new_secret())
        agent = await agents.insert_agent(str(row.id), admin)
    return customer_out(row), agent.id


async def _live(customer_id: str, *, lock: bool = False) -> CustomerRow:
    row = await customer_store.live(customer_id, lock=lock)
    if row is None:
        raise NotFound("customer_not_found", "There is no such customer.")
    return row


async def get_customer(principal: Principal) -> CustomerOut:
    return customer_out(await _live(principal.customer_id))


async def update_customer(principal: Principal, data: CustomerUpdate) -> CustomerOut:
    require_admin(principal)
    if data.name is not None and not data.name.strip():
        raise InvalidInput("invalid_name", "name cannot be empty.")
    uri = None
    if data.webhook_uri is not None:
        # resolved before the transaction: DNS may take a while
        uri = await webhook_targets.check_uri(
            data.webhook_uri, allow_private=runtime.settings().allow_private_webhooks
        )
    changes = CustomerChanges(
        name=UNSET if data.name is None else data.name.strip(),
        detail=UNSET if data.detail is None else data.detail,
        webhook_method=UNSET if data.webhook_method is None else data.webhook_method.value,
        webhook_events=(
            UNSET if data.webhook_events is None else sorted({e.value for e in data.webhook_events})
        ),
        webhook_uri=UNSET if uri is None else uri,
        business_hours_id=data.business_hours_id,
    )
    touches_webhook = (data.webhook_uri, data.webhook_method, data.webhook_events) != (None,) * 3
    # where a new endpoint's deliveries start: taken before the transaction, which locks
    # the customer row that event writers' foreign key checks need (core.events.horizons)
    start = await last_event_id(principal.customer_id) if uri else 0
    async with transaction():
        before = await _live(principal.customer_id, lock=True)
        if isinstance(data.business_hours_id, str):
            changes = msgspec.structs.replace(
                changes,
                business_hours_id=await check_business_hours(
                    principal.customer_id, data.business_hours_id, "business_hours_id"
                ),
            )
        if touches_webhook:
            # saving the webhook settings is how an endpoint disabled by a 410 comes back
            changes = msgspec.structs.replace(
                changes, webhook_disabled_at=None, webhook_disabled_reason=""
            )
        if uri and not before.webhook_uri:
            # a new endpoint gets the events from now on, not the customer's history
            changes = msgspec.structs.replace(changes, webhook_event_cursor=start)
        if changes == CustomerChanges():
            return customer_out(before)
        await customer_store.update(principal.customer_id, changes, now())
        after = customer_out(await _live(principal.customer_id))
        action = "customer.webhook_updated" if touches_webhook else "customer.updated"
        await audit.record(
            principal.customer_id,
            principal,
            action,
            "customer",
            principal.customer_id,
            customer_out(before),
            after,
        )
        return after


def _secret_out(row: CustomerRow) -> WebhookSecretOut:
    until = previous_signs_until(row.webhook_secret_previous, row.webhook_secret_rotated_at, now())
    return WebhookSecretOut(
        webhook_secret=row.webhook_secret, previous_secret_expires=fmt(until) if until else ""
    )


async def get_webhook_secret(principal: Principal) -> WebhookSecretOut:
    require_admin(principal)
    return _secret_out(await _live(principal.customer_id))


async def rotate_webhook_secret(principal: Principal) -> WebhookSecretOut:
    """A new signing secret; the one it replaces keeps signing beside it for a day,
    so receivers that still hold it verify every delivery while they switch."""
    require_admin(principal)
    async with transaction():
        row = await _live(principal.customer_id, lock=True)
        at = now()
        changes = CustomerChanges(
            webhook_secret=new_secret(),
            webhook_secret_previous=row.webhook_secret,
            webhook_secret_rotated_at=at,
        )
        await customer_store.update(principal.customer_id, changes, at)
        # the secrets themselves stay out of the log: only that it happened, and when
        await audit.record(
            principal.customer_id,
            principal,
            "customer.webhook_secret_rotated",
            "customer",
            principal.customer_id,
            {"webhook_secret_rotated_at": fmt(row.webhook_secret_rotated_at)}
            if row.webhook_secret_rotated_at
            else {},
            {"webhook_secret_rotated_at": fmt(at)},
        )
        return _secret_out(await _live(principal.customer_id))


async def find_by_admin_username(username: str) -> str | None:
    """The customer whose live agent has this username (used by the demo to reuse data)."""
    return await agent_store.customer_of(username.lower())

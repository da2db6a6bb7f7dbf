"""The delivery log: what was sent to the customer's endpoint, every attempt, and the
admin's actions on it (retry now, send a test event). Admins only: it shows every event."""

from __future__ import annotations

from datetime import datetime

from app.core import event_retention
from app.core.events import record_event, transaction
from app.core.ids import parse_id
from app.domain.enums import DeliveryStatus, EventType
from app.domain.errors import InvalidInput, NotFound
from app.domain.principal import Principal, require_admin
from app.domain.resources import WebhookAttemptOut, WebhookDeliveryOut, WebhookTestOut
from app.domain.timefmt import fmt, now
from app.people import customer_store
from app.webhooks import store as webhook_store
from app.webhooks.store import AttemptRow, DeliveryRow


def _when(value: datetime | None) -> str:
    return fmt(value) if value else ""


def delivery_out(row: DeliveryRow, attempts: list[AttemptRow]) -> WebhookDeliveryOut:
    waiting = row.status == DeliveryStatus.PENDING.value
    return WebhookDeliveryOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        event_id=str(row.event_id),
        event_type=row.event_type,
        status=DeliveryStatus(row.status),
        attempt_count=row.attempts,
        next_try_at=_when(row.next_try_at) if waiting else "",
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        attempts=[
            WebhookAttemptOut(
                uri=a.uri,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                response=a.response,
                tm_create=fmt(a.tm_create),
            )
            for a in attempts
        ],
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delivered=_when(row.tm_delivered),
    )


async def _with_attempts(rows: list[DeliveryRow]) -> list[WebhookDeliveryOut]:
    by_delivery: dict[str, list[AttemptRow]] = {}
    for a in await webhook_store.attempts_of([r.id for r in rows]):
        by_delivery.setdefault(str(a.delivery_id), []).append(a)
    return [delivery_out(r, by_delivery.get(str(r.id), [])) for r in rows]


async def list_deliveries(
    principal: Principal,
    *,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    page_size: int = 100,
    page_token: str | None = None,
) -> tuple[list[WebhookDeliveryOut], str]:
    """Newest event first (a delivery's `tm_create` is its event's)."""
    require_admin(principal)
    rows, token = await webhook_store.delivery_page(
        principal.customer_id, status, event_type, page_size, page_token
    )
    return await _with_attempts(rows), token


async def _row(customer_id: str, delivery_id: str, *, lock: bool = False) -> DeliveryRow:
    row = await webhook_store.delivery(
        customer_id,
        parse_id(delivery_id, "webhook_delivery_not_found", "delivery"),
        lock=lock,
    )
    if row is None:
        raise NotFound("webhook_delivery_not_found", "There is no such delivery.")
    return row


async def get_delivery(principal: Principal, delivery_id: str) -> WebhookDeliveryOut:
    require_admin(principal)
    return (await _with_attempts([await _row(principal.customer_id, delivery_id)]))[0]


async def retry_delivery(principal: Principal, delivery_id: str) -> WebhookDeliveryOut:
    """Send it again now, whatever its state: a failed one gets one more attempt (and the
    schedule's next, should that fail too), a pending one stops waiting, a delivered one is
    replayed (same `webhook-id`, so a receiver that deduplicates ignores it). Not once
    its event is past the retention and pruned: there is nothing left to send."""
    require_admin(principal)
    async with transaction():
        await event_retention.hold_events(principal.customer_id)
        row = await _row(principal.customer_id, delivery_id, lock=True)
        if row.status == DeliveryStatus.SENDING.value:
            raise InvalidInput(
                "delivery_in_progress", "This delivery is being attempted right now."
            )
        if not await webhook_store.event_kept(row.event_id):
            raise InvalidInput(
                "event_pruned",
                "This event is older than the event retention and no longer kept,"
                " so it cannot be sent again.",
            )
        await webhook_store.due_now(row.id, now())
    return await get_delivery(principal, delivery_id)


async def send_test_event(principal: Principal) -> None:
    """A `webhook_test` event for the endpoint alone (whatever types it subscribes to; no
    websocket topic carries it), delivered, signed and logged like any other."""
    require_admin(principal)
    if not await customer_store.webhook_uri(principal.customer_id):
        raise InvalidInput("no_webhook_uri", "Set a webhook_uri before sending a test event.")
    async with transaction():
        await record_event(
            principal.customer_id,
            EventType.WEBHOOK_TEST,
            WebhookTestOut(
                customer_id=principal.customer_id,
                message="A test event from Convodesk: your endpoint receives webhooks.",
            ),
        )

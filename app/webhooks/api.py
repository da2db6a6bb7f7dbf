"""`/v1.0/webhook_deliveries`: the webhook delivery log, and retrying a delivery."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter

from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.enums import WEBHOOK_EVENTS, DeliveryStatus
from app.domain.errors import BadRequest, Forbidden, InvalidInput
from app.domain.principal import Principal
from app.domain.resources import WebhookDeliveryOut, WebhookDeliveryPage
from app.webhooks import log as webhook_log


class WebhookDeliveryController(Controller):
    path = "/v1.0/webhook_deliveries"
    tags = ["webhooks"]
    opt = answers(Forbidden)  # admins only

    @get("/")
    async def list_deliveries(
        self,
        principal: Principal,
        status: DeliveryStatus | None = None,
        event_type: str | None = Parameter(
            default=None, max_length=64, description="an event type, or `webhook_test`"
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> WebhookDeliveryPage:
        """The webhook delivery log, newest first: each delivery with every attempt's status
        code, latency and error. Filters: `status` and `event_type`. Admins only."""
        if event_type and event_type not in WEBHOOK_EVENTS:
            raise BadRequest("invalid_event_type", f"There is no event type {event_type!r}.")
        result, token = await webhook_log.list_deliveries(
            principal,
            status=status,
            event_type=event_type,
            page_size=page_size,
            page_token=page_token,
        )
        return WebhookDeliveryPage(result=result, next_page_token=token)

    @get("/{delivery_id:str}")
    async def get_delivery(self, principal: Principal, delivery_id: str) -> WebhookDeliveryOut:
        """One delivery, with every attempt. Admins only."""
        return await webhook_log.get_delivery(principal, delivery_id)

    @post("/{delivery_id:str}/retry", status_code=202, opt=answers(Forbidden, InvalidInput))
    async def retry_delivery(self, principal: Principal, delivery_id: str) -> WebhookDeliveryOut:
        """Attempt the delivery again now, whatever its state: a failed one gets one more
        attempt, a pending one stops waiting, a delivered one is sent again (with the same
        `webhook-id`, so a receiver that deduplicates ignores it). One being attempted at
        this moment, or one whose event was pruned (older than the event retention), is a
        `422`. Admins only."""
        return await webhook_log.retry_delivery(principal, delivery_id)

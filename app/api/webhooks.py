"""`/v1.0/webhook_deliveries`: the webhook delivery log, and retrying a delivery."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter

from app.domain.enums import WEBHOOK_TEST_EVENT, DeliveryStatus, EventType
from app.domain.errors import BadRequest
from app.domain.principal import Principal
from app.domain.resources import WebhookDeliveryOut, WebhookDeliveryPage
from app.services import webhook_log

PAGE_SIZE = Parameter(default=100, ge=1, le=100)
EVENT_TYPES = {e.value for e in EventType} | {WEBHOOK_TEST_EVENT}


class WebhookDeliveryController(Controller):
    path = "/v1.0/webhook_deliveries"
    tags = ["webhooks"]

    @get("/")
    async def list_deliveries(
        self,
        principal: Principal,
        status: DeliveryStatus | None = None,
        event_type: str | None = Parameter(default=None, max_length=64),
        page_size: int = PAGE_SIZE,
        page_token: str | None = None,
    ) -> WebhookDeliveryPage:
        if event_type and event_type not in EVENT_TYPES:
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
        return await webhook_log.get_delivery(principal, delivery_id)

    @post("/{delivery_id:str}/retry", status_code=202)
    async def retry_delivery(self, principal: Principal, delivery_id: str) -> WebhookDeliveryOut:
        """Attempt it again now (also a delivered one: a replay with the same webhook-id)."""
        return await webhook_log.retry_delivery(principal, delivery_id)

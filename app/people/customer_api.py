"""`/v1.0/customer`: the caller's own customer (tenant) and its settings."""

from __future__ import annotations

from litestar import Controller, get, post, put

from app.api.openapi import answers
from app.domain.errors import Forbidden
from app.domain.principal import Principal
from app.domain.resources import CustomerOut, CustomerUpdate, WebhookSecretOut
from app.people import customers


class CustomerController(Controller):
    path = "/v1.0/customer"
    tags = ["customer"]

    @get("/")
    async def get_customer(self, principal: Principal) -> CustomerOut:
        """The caller's own customer (the tenant every agent and room belongs to) and its
        webhook settings. Every agent may read it."""
        return await customers.get_customer(principal)

    @put("/", opt=answers(Forbidden))
    async def update_customer(self, principal: Principal, data: CustomerUpdate) -> CustomerOut:
        """Change the customer's name and detail, and its webhook: `webhook_uri`,
        `webhook_method` (`POST` or `PUT`) and `webhook_events` (the event types to send;
        `[]` sends every type). A `webhook_uri` that resolves to a private, loopback or
        link-local address is a `422`. Saving re-enables an endpoint that was disabled by a
        `410 Gone`. Admins only."""
        return await customers.update_customer(principal, data)

    @get("/webhook_secret", opt=answers(Forbidden))
    async def get_webhook_secret(self, principal: Principal) -> WebhookSecretOut:
        """The secret that signs webhook deliveries: `whsec_` and base64, whose decoded part
        is the HMAC-SHA256 key (Standard Webhooks). Admins only."""
        return await customers.get_webhook_secret(principal)

    @post("/webhook_secret", status_code=200, opt=answers(Forbidden))
    async def rotate_webhook_secret(self, principal: Principal) -> WebhookSecretOut:
        """Replace the signing secret with a new one. For 24 hours the old one keeps signing
        beside it (`webhook-signature` carries both), so receivers can switch without
        dropping a delivery. Admins only."""
        return await customers.rotate_webhook_secret(principal)

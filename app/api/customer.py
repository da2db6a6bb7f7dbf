"""`/v1.0/customer`: the caller's own customer (tenant) and its settings."""

from __future__ import annotations

from litestar import Controller, get, post, put

from app.domain.principal import Principal
from app.domain.resources import CustomerOut, CustomerUpdate, WebhookSecretOut
from app.services import customers


class CustomerController(Controller):
    path = "/v1.0/customer"
    tags = ["customer"]

    @get("/")
    async def get_customer(self, principal: Principal) -> CustomerOut:
        return await customers.get_customer(principal)

    @put("/")
    async def update_customer(self, principal: Principal, data: CustomerUpdate) -> CustomerOut:
        return await customers.update_customer(principal, data)

    @get("/webhook_secret")
    async def get_webhook_secret(self, principal: Principal) -> WebhookSecretOut:
        """The current signing secret (admins)."""
        return await customers.get_webhook_secret(principal)

    @post("/webhook_secret", status_code=200)
    async def rotate_webhook_secret(self, principal: Principal) -> WebhookSecretOut:
        """A new signing secret; the old one keeps signing beside it for 24 hours."""
        return await customers.rotate_webhook_secret(principal)

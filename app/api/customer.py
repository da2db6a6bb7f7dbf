"""`/v1.0/customer`: the caller's own customer (tenant) and its settings."""

from __future__ import annotations

from litestar import Controller, get, put

from app.domain.principal import Principal
from app.domain.resources import CustomerOut, CustomerUpdate
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

"""`/v1.0/business_hours`: calendars saying when a team or the customer is open. Any
agent reads them; admins change them."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.business_hours import service
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import (
    BusinessHoursCreate,
    BusinessHoursOut,
    BusinessHoursPage,
    BusinessHoursUpdate,
)


class BusinessHoursController(Controller):
    path = "/v1.0/business_hours"
    tags = ["business hours"]

    @get("/")
    async def list_business_hours(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> BusinessHoursPage:
        """The customer's calendars, newest first. Any agent."""
        result, token = await service.list_page(principal, page_size, page_token)
        return BusinessHoursPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, idempotent=True))
    async def create_business_hours(
        self, request: Request, principal: Principal, data: BusinessHoursCreate
    ) -> Response[BusinessHoursOut]:
        """Create a calendar: its IANA `time_zone`, weekly open `periods` in that zone's
        wall-clock time (several per day: a lunch break is two; `end` "24:00" runs to
        midnight) and `holidays` (closed all day; `yearly` ones every year). An unknown
        time zone, a period that ends before it starts, two periods of a day that overlap,
        a date that does not exist or a date listed twice is a `422` naming the field.
        Admins only."""
        return await idempotent(request, principal, lambda: service.create(principal, data))

    @get("/{hours_id:str}")
    async def get_business_hours(self, principal: Principal, hours_id: str) -> BusinessHoursOut:
        """One calendar. Any agent."""
        return await service.get(principal, hours_id)

    @put("/{hours_id:str}", opt=answers(Forbidden))
    async def update_business_hours(
        self, principal: Principal, hours_id: str, data: BusinessHoursUpdate
    ) -> BusinessHoursOut:
        """Change a calendar; only the fields given change, and a list given replaces the
        whole list. Admins only."""
        return await service.update(principal, hours_id, data)

    @delete("/{hours_id:str}", status_code=200, opt=answers(Forbidden, Conflict))
    async def delete_business_hours(self, principal: Principal, hours_id: str) -> BusinessHoursOut:
        """Delete a calendar. While a team, the customer (its default) or an SLA policy
        uses it, a `409 business_hours_in_use` names them. Admins only."""
        return await service.delete(principal, hours_id)

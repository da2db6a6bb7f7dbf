"""`/v1.0/sla_policies` (any agent reads them; admins change them) and a room's clocks,
`GET /v1.0/conversations/{id}/sla`."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.errors import Forbidden, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    SlaClockList,
    SlaPolicyCreate,
    SlaPolicyOut,
    SlaPolicyPage,
    SlaPolicyUpdate,
)
from app.sla import service


class SlaPolicyController(Controller):
    path = "/v1.0/sla_policies"
    tags = ["sla policies"]

    @get("/")
    async def list_sla_policies(
        self, principal: Principal, page_size: int = PAGE_SIZE, page_token: str | None = PAGE_TOKEN
    ) -> SlaPolicyPage:
        """The customer's SLA policies, newest first. Any agent."""
        result, token = await service.list_page(
            principal, page_size=page_size, page_token=page_token
        )
        return SlaPolicyPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, NotFound, idempotent=True))
    async def create_sla_policy(
        self, request: Request, principal: Principal, data: SlaPolicyCreate
    ) -> Response[SlaPolicyOut]:
        """Create an SLA policy: a `name`, the rooms it is for (`priority`, `team_id`;
        null: any), the calendar its targets count in (`business_hours_id`; null: around
        the clock) and at least one target in business minutes (`422
        sla_target_required` otherwise). A team or calendar that is not the customer's is
        a `404`. Admins only."""
        return await idempotent(request, principal, lambda: service.create(principal, data))

    @get("/{policy_id:str}")
    async def get_sla_policy(self, principal: Principal, policy_id: str) -> SlaPolicyOut:
        """One SLA policy. Any agent."""
        return await service.get(principal, policy_id)

    @put("/{policy_id:str}", opt=answers(Forbidden))
    async def update_sla_policy(
        self, principal: Principal, policy_id: str, data: SlaPolicyUpdate
    ) -> SlaPolicyOut:
        """Change an SLA policy; only the fields given change (null is a value). Rooms
        follow the change from their next message turn, close, reopen, snooze, wake, or
        priority or team change; their running clocks keep what they counted. Admins
        only."""
        return await service.update(principal, policy_id, data)

    @delete("/{policy_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_sla_policy(self, principal: Principal, policy_id: str) -> SlaPolicyOut:
        """Delete an SLA policy; its rooms' pending clocks go when they next move (a room
        may then follow another policy). Outcomes already met or breached stay. Admins
        only."""
        return await service.delete(principal, policy_id)


class ConversationSlaController(Controller):
    path = "/v1.0/conversations"
    tags = ["conversations"]

    @get("/{conversation_id:str}/sla")
    async def get_conversation_sla(
        self, principal: Principal, conversation_id: str
    ) -> SlaClockList:
        """Every SLA clock the room has had, oldest first — its target, status, due time,
        and the intervals from its start to its end (or now) that counted or did not,
        each with why (`outside_business_hours`, `waiting_on_customer`, `snoozed`,
        `closed`). Recomputed from the room's stored messages and changes, so a breach
        can be checked by hand. A room you may not see is a `404`."""
        return await service.room_clocks(principal, conversation_id)

"""`/v1.0/csat_responses`: customers' ratings of closed rooms."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.csat import service
from app.domain.principal import Principal
from app.domain.resources import CsatResponseOut, CsatResponsePage


class CsatResponseController(Controller):
    path = "/v1.0/csat_responses"
    tags = ["csat"]

    @get("/")
    async def list_csat_responses(
        self,
        principal: Principal,
        since: str | None = Parameter(
            query="from", default=None, max_length=64, description="rated at or after this time"
        ),
        until: str | None = Parameter(
            query="to", default=None, max_length=64, description="rated before this time"
        ),
        conversation_id: str | None = Parameter(
            default=None, max_length=64, description="the rating of this room"
        ),
        agent_id: str | None = Parameter(
            default=None,
            max_length=64,
            description="ratings of rooms this agent was assigned when they closed",
        ),
        rating: int | None = Parameter(default=None, ge=1, le=5, description="1 to 5"),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> CsatResponsePage:
        """Customers' satisfaction ratings, newest first: one per rated room, with the
        channel it came by and the customer's comment. Filters: `from`, `to`,
        `conversation_id`, `agent_id` (the room's assignee when it closed), `rating`.
        Admins and managers see every rating; an agent those of the rooms it may see
        (assigned to it, or unassigned)."""
        f = service.response_filter(
            principal,
            since=since,
            until=until,
            conversation_id=conversation_id,
            agent_id=agent_id,
            rating=rating,
        )
        result, token = await service.list_responses(principal, f, page_size, page_token)
        return CsatResponsePage(result=result, next_page_token=token)

    @get("/{response_id:str}")
    async def get_csat_response(self, principal: Principal, response_id: str) -> CsatResponseOut:
        """One rating (`404` for another customer's, or a room you may not see)."""
        return await service.get_response(principal, response_id)

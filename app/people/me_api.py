"""`/v1.0/me`: the signed-in agent's own resource and settings (any agent, for itself).

One doors module for everything an agent does to itself: its resource and availability
(here), its profile and password (`PUT /v1.0/me`, `PUT /v1.0/me/password`: the desk's
profile page uses the same service functions)."""

from __future__ import annotations

from litestar import Controller, get, put

from app.domain.principal import Principal
from app.domain.resources import AgentOut, AvailabilityIn
from app.people import agents
from app.routing import availability


class MeController(Controller):
    path = "/v1.0/me"
    tags = ["me"]

    @get("/")
    async def get_me(self, principal: Principal) -> AgentOut:
        """The signed-in agent (the one the token or access key stands for), with its
        availability, capacity and teams. Any agent."""
        return await agents.get_me(principal)

    @put("/availability")
    async def set_availability(self, principal: Principal, data: AvailabilityIn) -> AgentOut:
        """Set your own availability: `online` (routing may give you rooms), `away` or
        `offline` (it gives you none; the rooms you hold stay yours). Going online lets
        your teams' waiting rooms come to you at once. Every agent of the customer gets
        `agent_availability_updated`. Choosing clears `auto_offline`."""
        return await availability.set_own(principal, data.availability)

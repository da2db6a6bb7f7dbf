"""`/v1.0/me`: the signed-in agent's own resource and settings (any agent, for itself).

One doors module for everything an agent does to itself: its resource and availability,
its profile (`PUT /v1.0/me`) and password (`PUT /v1.0/me/password`); the desk's profile
page and rail switch call the same service functions."""

from __future__ import annotations

from litestar import Controller, Request, get, put

from app.api.auth import client_address
from app.api.openapi import answers
from app.domain.errors import InvalidInput, TooManyRequests
from app.domain.principal import Principal
from app.domain.resources import AgentOut, AvailabilityIn, MeUpdate, PasswordChange
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

    @put("/")
    async def update_me(self, principal: Principal, data: MeUpdate) -> AgentOut:
        """Change your own `name`, `default_availability` (what you become when you
        sign in to the desk) and `signature` (appended below your replies on channel
        accounts whose `signature` setting is `below`; "" for none); only the fields
        given change. Any agent."""
        return await agents.update_me(principal, data)

    @put("/availability")
    async def set_availability(self, principal: Principal, data: AvailabilityIn) -> AgentOut:
        """Set your own availability: `online` (routing may give you rooms), `away` or
        `offline` (it gives you none; the rooms you hold stay yours). Going online lets
        your teams' waiting rooms come to you at once. Every agent of the customer gets
        `agent_availability_updated`. Choosing clears `auto_offline`."""
        return await availability.set_own(principal, data.availability)

    @put("/password", status_code=204, opt=answers(InvalidInput, TooManyRequests))
    async def change_password(
        self, request: Request, principal: Principal, data: PasswordChange
    ) -> None:
        """Change your own password: `current_password` must be right (a `422`
        `wrong_password` otherwise; wrong guesses count like failed sign-ins, and too many
        are a `429`). `password` is at least 8 characters. Your tokens stay valid. Any
        agent."""
        await agents.change_password(principal, data, address=client_address(request))

"""`/v1.0/me`: the signed-in agent's own settings — any agent, for itself."""

from __future__ import annotations

from litestar import Controller, Request, put

from app.api.auth import client_address
from app.api.openapi import answers
from app.domain.errors import InvalidInput, TooManyRequests
from app.domain.principal import Principal
from app.domain.resources import AgentOut, MeUpdate, PasswordChange
from app.people import agents


class MeController(Controller):
    path = "/v1.0/me"
    tags = ["me"]

    @put("/")
    async def update_me(self, principal: Principal, data: MeUpdate) -> AgentOut:
        """Change your own `name` and `default_availability` (what you become when you
        sign in to the desk); only the fields given change. Any agent."""
        return await agents.update_me(principal, data)

    @put("/password", status_code=204, opt=answers(InvalidInput, TooManyRequests))
    async def change_password(
        self, request: Request, principal: Principal, data: PasswordChange
    ) -> None:
        """Change your own password: `current_password` must be right (a `422`
        `wrong_password` otherwise; wrong guesses count like failed sign-ins, and too many
        are a `429`). `password` is at least 8 characters. Your tokens stay valid. Any
        agent."""
        await agents.change_password(principal, data, address=client_address(request))

"""`/v1.0/teams`: groups of agents and the channel accounts whose new rooms they receive.
Any agent reads them; admins change them."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import TeamCreate, TeamOut, TeamPage, TeamUpdate
from app.routing import teams


class TeamController(Controller):
    path = "/v1.0/teams"
    tags = ["teams"]

    @get("/")
    async def list_teams(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> TeamPage:
        """The customer's teams, newest first. Any agent."""
        result, token = await teams.list_teams(principal, page_size, page_token)
        return TeamPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, Conflict, idempotent=True))
    async def create_team(
        self, request: Request, principal: Principal, data: TeamCreate
    ) -> Response[TeamOut]:
        """Create a team: its members (`agent_ids`), the channel accounts whose new rooms
        it receives (`account_ids`), how rooms are given out (`assignment_policy`:
        `manual`, `round_robin` or `least_busy`), each member's capacity unless the agent
        has its own (`max_open`, default 5) and the seconds an assignee may leave a room
        unanswered before it goes back to routing (`reassign_after`, 0: never). An id that
        is not an agent or channel account of the customer is a `422` naming it; an
        account that already routes to another team is a `409` (an account's new rooms go
        to one team). Admins only."""
        return await idempotent(request, principal, lambda: teams.create_team(principal, data))

    @get("/{team_id:str}")
    async def get_team(self, principal: Principal, team_id: str) -> TeamOut:
        """One team, with its members and channel accounts. Any agent."""
        return await teams.get_team(principal, team_id)

    @put("/{team_id:str}", opt=answers(Forbidden, Conflict))
    async def update_team(self, principal: Principal, team_id: str, data: TeamUpdate) -> TeamOut:
        """Change a team; only the fields given change, and a list given replaces the
        whole list. Raising `max_open`, adding members or switching the policy from
        `manual` lets the team's waiting rooms be assigned at once. Admins only."""
        return await teams.update_team(principal, team_id, data)

    @delete("/{team_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_team(self, principal: Principal, team_id: str) -> TeamOut:
        """Delete a team: its rooms leave it (their assignees keep them; rooms waiting in
        its queue stop waiting), its channel accounts' new rooms go to no team, and its
        members are free. Admins only."""
        return await teams.delete_team(principal, team_id)

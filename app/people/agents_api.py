"""`/v1.0/agents`: admins manage the people who use the desk."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put

from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import AgentCreate, AgentOut, AgentPage, AgentUpdate
from app.people import agents
from app.routing import availability


class AgentController(Controller):
    path = "/v1.0/agents"
    tags = ["agents"]
    opt = answers(Forbidden)  # admins only

    @get("/")
    async def list_agents(
        self,
        principal: Principal,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> AgentPage:
        """The customer's agents (the people who sign in to the desk), newest first.
        Admins only."""
        result, token = await agents.list_agents(principal, page_size, page_token)
        return AgentPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, Conflict))
    async def create_agent(self, principal: Principal, data: AgentCreate) -> AgentOut:
        """Add an agent who signs in with `username` and `password`. `permission` is
        `admin`, `manager` or `agent` (the default). Usernames are unique across the whole
        server, ignoring case: one already in use is a `409`. Admins only."""
        return await agents.create_agent(principal, data)

    @get("/{agent_id:str}")
    async def get_agent(self, principal: Principal, agent_id: str) -> AgentOut:
        """One agent. Admins only."""
        return await agents.get_agent(principal, agent_id)

    @put("/{agent_id:str}", opt=answers(Forbidden, Conflict))
    async def update_agent(
        self, principal: Principal, agent_id: str, data: AgentUpdate
    ) -> AgentOut:
        """Change an agent's name, detail, permission, status, availability, capacity
        (`max_open`; null: each team's) or password; only the fields given change. A new
        permission applies to the agent's next request. `status: deactivated` stops the
        agent's sign-in, tokens, desk session, websockets and access keys at once, makes it
        offline and returns its open rooms to routing; `status: active` restores sign-in
        (it stays offline until it chooses). Demoting or deactivating the customer's last
        active admin is a `409`, and so is making a deactivated agent available. Admins
        only."""
        return await availability.update_agent(principal, agent_id, data)

    @delete("/{agent_id:str}", status_code=200, opt=answers(Forbidden, Conflict))
    async def delete_agent(self, principal: Principal, agent_id: str) -> AgentOut:
        """Delete an agent: its tokens and access keys stop working at once, it leaves its
        teams and its open rooms return to routing. Deleting the customer's last admin is a
        `409`. Admins only."""
        return await availability.delete_agent(principal, agent_id)

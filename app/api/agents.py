"""`/v1.0/agents`: admins manage the people who use the desk."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put
from litestar.params import Parameter

from app.domain.principal import Principal
from app.domain.resources import AgentCreate, AgentOut, AgentPage, AgentUpdate
from app.services import agents


class AgentController(Controller):
    path = "/v1.0/agents"
    tags = ["agents"]

    @get("/")
    async def list_agents(
        self,
        principal: Principal,
        page_size: int = Parameter(default=100, ge=1, le=100),
        page_token: str | None = None,
    ) -> AgentPage:
        result, token = await agents.list_agents(principal, page_size, page_token)
        return AgentPage(result=result, next_page_token=token)

    @post("/")
    async def create_agent(self, principal: Principal, data: AgentCreate) -> AgentOut:
        return await agents.create_agent(principal, data)

    @get("/{agent_id:str}")
    async def get_agent(self, principal: Principal, agent_id: str) -> AgentOut:
        return await agents.get_agent(principal, agent_id)

    @put("/{agent_id:str}")
    async def update_agent(
        self, principal: Principal, agent_id: str, data: AgentUpdate
    ) -> AgentOut:
        return await agents.update_agent(principal, agent_id, data)

    @delete("/{agent_id:str}", status_code=200)
    async def delete_agent(self, principal: Principal, agent_id: str) -> AgentOut:
        return await agents.delete_agent(principal, agent_id)

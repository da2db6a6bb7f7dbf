"""`/v1.0/canned_responses`: replies an agent inserts by shortcut, personal or shared.
Any agent manages its own; admins manage the shared ones."""

from __future__ import annotations

from enum import StrEnum

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.canned import service
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import (
    CannedRender,
    CannedRenderOut,
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponsePage,
    CannedResponseUpdate,
)


class CannedScope(StrEnum):
    ALL = "all"
    PERSONAL = "personal"
    SHARED = "shared"


class CannedResponseController(Controller):
    path = "/v1.0/canned_responses"
    tags = ["canned responses"]

    @get("/")
    async def list_canned_responses(
        self,
        principal: Principal,
        q: str | None = Parameter(
            default=None,
            max_length=255,
            description="Only replies whose shortcut or name starts with this"
            " (case-insensitive; a leading `/` is ignored).",
        ),
        # `scope` is Litestar's name for the ASGI scope: the query's `scope` arrives as `kind`
        kind: CannedScope = Parameter(
            query="scope",
            default=CannedScope.ALL,
            description="`personal`: your own; `shared`: the shared ones; `all`: both.",
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> CannedResponsePage:
        """The canned replies you may use — your own and the shared ones — newest first.
        Any agent (another agent's personal replies are never listed)."""
        result, token = await service.list_page(
            principal, q=q or "", scope=kind.value, page_size=page_size, page_token=page_token
        )
        return CannedResponsePage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, Conflict, idempotent=True))
    async def create_canned_response(
        self, request: Request, principal: Principal, data: CannedResponseCreate
    ) -> Response[CannedResponseOut]:
        """Create a canned reply: `shortcut` (what follows `/` in the composer; stored
        lowercase), `text` (with variables such as `{{contact.name}}`) and a `name`.
        `owner_id` omitted or your own id makes it personal; `null` makes it shared, which
        only admins may (`403` otherwise). A shortcut already used in the same scope is a
        `409 shortcut_taken`."""
        return await idempotent(request, principal, lambda: service.create(principal, data))

    @get("/{canned_id:str}")
    async def get_canned_response(self, principal: Principal, canned_id: str) -> CannedResponseOut:
        """One canned reply: your own, or a shared one."""
        return await service.get(principal, canned_id)

    @put("/{canned_id:str}", opt=answers(Forbidden, Conflict))
    async def update_canned_response(
        self, principal: Principal, canned_id: str, data: CannedResponseUpdate
    ) -> CannedResponseOut:
        """Change a canned reply; only the fields given change. Your own replies; shared
        ones only as an admin (`403`)."""
        return await service.update(principal, canned_id, data)

    @delete("/{canned_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_canned_response(
        self, principal: Principal, canned_id: str
    ) -> CannedResponseOut:
        """Delete a canned reply. Your own replies; shared ones only as an admin (`403`)."""
        return await service.delete(principal, canned_id)

    @post("/{canned_id:str}/render", status_code=200)
    async def render_canned_response(
        self, principal: Principal, canned_id: str, data: CannedRender
    ) -> CannedRenderOut:
        """The reply's text with its variables filled for a conversation you may see, with
        you as the agent: `{{contact.name}}`, `{{contact.first_name}}`,
        `{{contact.last_name}}`, `{{contact.email}}`, `{{contact.phone}}`,
        `{{agent.name}}`, `{{agent.first_name}}`, `{{conversation.id}}`,
        `{{conversation.name}}`. Plain text, not HTML-escaped; a variable the room has no
        value for becomes "", an unknown one stays as written. Sending it is up to you
        (`POST /v1.0/conversations/{id}/messages`)."""
        return await service.render(principal, canned_id, data.conversation_id)

"""`/v1.0/conversations`: rooms, their participants and their messages (CONTRACT §4)."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.domain.enums import ConversationStatus, ReferenceType
from app.domain.principal import Principal
from app.domain.resources import (
    ConversationCreate,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
    MessagePage,
    ParticipantIn,
    ParticipantOut,
)
from app.services import conversations, messages
from app.settings import Settings

PAGE_SIZE = Parameter(default=100, ge=1, le=100)


class ConversationController(Controller):
    path = "/v1.0/conversations"
    tags = ["conversations"]

    @get("/")
    async def list_conversations(
        self,
        principal: Principal,
        status: ConversationStatus | None = None,
        reference_type: ReferenceType | None = None,
        owner_id: str | None = Parameter(
            default=None, description="an agent id, or `none` for unassigned rooms"
        ),
        tag: str | None = None,
        q: str | None = Parameter(default=None, max_length=200),
        page_size: int = PAGE_SIZE,
        page_token: str | None = None,
    ) -> ConversationPage:
        result, token = await conversations.list_conversations(
            principal,
            status=status,
            reference_type=reference_type,
            owner_id=owner_id,
            tag=tag,
            q=q,
            page_size=page_size,
            page_token=page_token,
        )
        return ConversationPage(result=result, next_page_token=token)

    @post("/")
    async def create_conversation(
        self, request: Request, principal: Principal, settings: Settings, data: ConversationCreate
    ) -> Response[ConversationOut]:
        return await idempotent(
            request,
            principal,
            lambda: conversations.create_conversation(
                principal, data, default_region=settings.default_region
            ),
        )

    @get("/{conversation_id:str}")
    async def get_conversation(self, principal: Principal, conversation_id: str) -> ConversationOut:
        return await conversations.get_conversation(principal, conversation_id)

    @put("/{conversation_id:str}")
    async def update_conversation(
        self, principal: Principal, conversation_id: str, data: ConversationUpdate
    ) -> ConversationOut:
        return await conversations.update_conversation(principal, conversation_id, data)

    @delete("/{conversation_id:str}", status_code=200)
    async def delete_conversation(
        self, principal: Principal, conversation_id: str
    ) -> ConversationOut:
        return await conversations.delete_conversation(principal, conversation_id)

    @post("/{conversation_id:str}/participants")
    async def add_participant(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        conversation_id: str,
        data: ParticipantIn,
    ) -> Response[ParticipantOut]:
        return await idempotent(
            request,
            principal,
            lambda: conversations.add_participant(
                principal, conversation_id, data, default_region=settings.default_region
            ),
        )

    @delete("/{conversation_id:str}/participants/{participant_id:str}", status_code=200)
    async def remove_participant(
        self, principal: Principal, conversation_id: str, participant_id: str
    ) -> ParticipantOut:
        return await conversations.remove_participant(principal, conversation_id, participant_id)

    @get("/{conversation_id:str}/messages")
    async def list_messages(
        self,
        principal: Principal,
        conversation_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = None,
    ) -> MessagePage:
        result, token = await messages.list_messages(
            principal, conversation_id, page_size, page_token
        )
        return MessagePage(result=result, next_page_token=token)

    @post("/{conversation_id:str}/messages")
    async def send_message(
        self, request: Request, principal: Principal, conversation_id: str, data: MessageCreate
    ) -> Response[MessageOut]:
        return await idempotent(
            request, principal, lambda: messages.send_message(principal, conversation_id, data)
        )

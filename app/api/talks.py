"""`/v1.0/talks` and `/v1.0/messages/{id}/reactions`: the agents' own chat (seed 003,
CONTRACT §4), and the download of files uploaded into a talk (participants only)."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter
from litestar.response import File

from app.api.idempotency import idempotent
from app.domain.enums import TalkStatus, TalkType
from app.domain.errors import NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    ReactionIn,
    TalkCreate,
    TalkMessageCreate,
    TalkMessageOut,
    TalkMessagePage,
    TalkMessageUpdate,
    TalkOut,
    TalkPage,
    TalkParticipantIn,
    TalkParticipantOut,
    TalkUnreadList,
    TalkUnreadOut,
    TalkUpdate,
)
from app.services import media, talk_messages, talks
from app.settings import Settings

PAGE_SIZE = Parameter(default=100, ge=1, le=100)


def _created(value, created: bool) -> tuple:
    """(body, 201) for something new, (body, 200) for what was there already."""
    return value, 201 if created else 200


class TalkController(Controller):
    path = "/v1.0/talks"
    tags = ["talks"]

    @get("/")
    async def list_talks(
        self,
        principal: Principal,
        # `scope` is Litestar's name for the ASGI scope, hence another name in Python
        view: str = Parameter(
            query="scope",
            default="mine",
            description="`mine` (talks you are in) or, for admins, `all`",
        ),
        status: TalkStatus | None = None,
        type: TalkType | None = None,
        page_size: int = PAGE_SIZE,
        page_token: str | None = None,
    ) -> TalkPage:
        result, token = await talks.list_talks(
            principal,
            scope=view,
            status=status,
            type=type,
            page_size=page_size,
            page_token=page_token,
        )
        return TalkPage(result=result, next_page_token=token)

    @post("/", description="A direct talk that exists already is returned with 200.")
    async def create_talk(
        self, request: Request, principal: Principal, data: TalkCreate
    ) -> Response[TalkOut]:
        async def create() -> tuple:
            return _created(*await talks.create_talk(principal, data))

        return await idempotent(request, principal, create)

    @get("/unread", description="Your unread message count in each of your talks.")
    async def unread(self, principal: Principal) -> TalkUnreadList:
        return TalkUnreadList(result=await talk_messages.unread(principal))

    @get("/{talk_id:str}")
    async def get_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        return await talks.get_talk(principal, talk_id)

    @put("/{talk_id:str}")
    async def update_talk(self, principal: Principal, talk_id: str, data: TalkUpdate) -> TalkOut:
        return await talks.update_talk(principal, talk_id, data)

    @delete("/{talk_id:str}", status_code=200)
    async def delete_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        return await talks.delete_talk(principal, talk_id)

    @post("/{talk_id:str}/close", status_code=200)
    async def close_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        return await talks.close_talk(principal, talk_id)

    @post("/{talk_id:str}/reopen", status_code=200)
    async def reopen_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        return await talks.reopen_talk(principal, talk_id)

    @post("/{talk_id:str}/read", status_code=200, description="Mark the talk read up to now.")
    async def mark_read(self, principal: Principal, talk_id: str) -> TalkUnreadOut:
        return await talk_messages.mark_read(principal, talk_id)

    @post("/{talk_id:str}/participants", description="An agent already in it gives 200.")
    async def add_participant(
        self, request: Request, principal: Principal, talk_id: str, data: TalkParticipantIn
    ) -> Response[TalkParticipantOut]:
        async def add() -> tuple:
            return _created(*await talks.add_participant(principal, talk_id, data.agent_id))

        return await idempotent(request, principal, add)

    @delete("/{talk_id:str}/participants/{participant_id:str}", status_code=200)
    async def remove_participant(
        self, principal: Principal, talk_id: str, participant_id: str
    ) -> TalkParticipantOut:
        return await talks.remove_participant(principal, talk_id, participant_id)

    @get("/{talk_id:str}/messages")
    async def list_messages(
        self,
        principal: Principal,
        talk_id: str,
        parent_id: str | None = Parameter(
            default=None, description="a thread's root (or any of its replies)"
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = None,
    ) -> TalkMessagePage:
        result, token = await talk_messages.list_messages(
            principal, talk_id, parent_id, page_size, page_token
        )
        return TalkMessagePage(result=result, next_page_token=token)

    @post("/{talk_id:str}/messages")
    async def post_message(
        self, request: Request, principal: Principal, talk_id: str, data: TalkMessageCreate
    ) -> Response[TalkMessageOut]:
        return await idempotent(
            request, principal, lambda: talk_messages.post_message(principal, talk_id, data)
        )

    @get("/{talk_id:str}/messages/{message_id:str}")
    async def get_message(
        self, principal: Principal, talk_id: str, message_id: str
    ) -> TalkMessageOut:
        return await talk_messages.get_message(principal, talk_id, message_id)

    @put("/{talk_id:str}/messages/{message_id:str}")
    async def edit_message(
        self, principal: Principal, talk_id: str, message_id: str, data: TalkMessageUpdate
    ) -> TalkMessageOut:
        return await talk_messages.edit_message(principal, talk_id, message_id, data.text)

    @delete("/{talk_id:str}/messages/{message_id:str}", status_code=200)
    async def delete_message(
        self, principal: Principal, settings: Settings, talk_id: str, message_id: str
    ) -> TalkMessageOut:
        return await talk_messages.delete_message(principal, talk_id, message_id, settings.data_dir)


class ReactionController(Controller):
    path = "/v1.0/messages/{message_id:str}/reactions"
    tags = ["talks"]

    @post("/", description="Returns the message; a reaction you already have gives 200.")
    async def add_reaction(
        self, principal: Principal, message_id: str, data: ReactionIn
    ) -> Response[TalkMessageOut]:
        message, added = await talk_messages.add_reaction(principal, message_id, data.emoji)
        return Response(message, status_code=201 if added else 200)

    @delete("/{emoji:str}", status_code=200)
    async def remove_reaction(
        self, principal: Principal, message_id: str, emoji: str
    ) -> TalkMessageOut:
        return await talk_messages.remove_reaction(principal, message_id, emoji)


@get("/talks/{talk_id:str}/files/{key:str}/{name:str}", include_in_schema=False)
async def talk_file(
    principal: Principal, settings: Settings, talk_id: str, key: str, name: str
) -> File:
    """A file uploaded into a talk, for its participants only (by the desk's cookie or a
    token, like the API)."""
    access = await talks.reach(principal, talk_id)
    path = media.path_of(settings.data_dir, key, name, talk_messages.files_area(access.id))
    if path is None:
        raise NotFound("file_not_found", "There is no such file.")
    return File(
        path=path,
        filename=name,
        content_disposition_type="inline" if media.shows_inline(name) else "attachment",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )

"""`/v1.0/talks` and `/v1.0/messages/{id}/reactions`: the agents' own chat, and the
download of files uploaded into a talk (participants only)."""

from __future__ import annotations

from typing import Literal, TypeVar

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import File

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.conversations import media
from app.domain.enums import TalkStatus, TalkType
from app.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
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
from app.settings import Settings
from app.talk import messages as talk_messages
from app.talk import service as talks

Resource = TypeVar("Resource")


def _created(value: Resource, created: bool) -> tuple[Resource, int]:
    """(body, 201) for something new, (body, 200) for what was there already."""
    return value, 201 if created else 200


class TalkController(Controller):
    path = "/v1.0/talks"
    tags = ["talks"]

    @get("/", opt=answers(Forbidden))
    async def list_talks(
        self,
        principal: Principal,
        # `scope` is Litestar's name for the ASGI scope, hence another name in Python
        view: Literal["mine", "all"] = Parameter(
            query="scope",
            default="mine",
            description="`mine` (talks you are in) or, for admins, `all`",
        ),
        status: TalkStatus | None = None,
        type: TalkType | None = None,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> TalkPage:
        """Your talks (those you are a participant of), newest first; `scope=all` lists
        every talk of the customer, for admins (`403` for others). Filters: `status`,
        `type`."""
        result, token = await talks.list_talks(
            principal,
            scope=view,
            status=status,
            type=type,
            page_size=page_size,
            page_token=page_token,
        )
        return TalkPage(result=result, next_page_token=token)

    @post(
        "/",
        opt=answers(NotFound, idempotent=True),
        responses={200: ResponseSpec(TalkOut, description="The direct talk that existed")},
    )
    async def create_talk(
        self, request: Request, principal: Principal, data: TalkCreate
    ) -> Response[TalkOut]:
        """Start a talk with `participant_ids` (you are always in it; an unknown agent is a
        `404`). A `direct` talk is between you and one other agent; starting it again, by
        either of you, answers the existing talk with `200` (reopened, and rejoined if you
        had left). A `group` talk needs a `name`."""

        async def create() -> tuple[TalkOut, int]:
            return _created(*await talks.create_talk(principal, data))

        return await idempotent(request, principal, create)

    @get("/unread")
    async def unread(self, principal: Principal) -> TalkUnreadList:
        """Your unread count in each of your talks: others' messages since you last read
        it (opening it in the desk, or `POST /v1.0/talks/{talk_id}/read`)."""
        return TalkUnreadList(result=await talk_messages.unread(principal))

    @get("/{talk_id:str}")
    async def get_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        """One talk with its participants. Its participants, and admins."""
        return await talks.get_talk(principal, talk_id)

    @put("/{talk_id:str}")
    async def update_talk(self, principal: Principal, talk_id: str, data: TalkUpdate) -> TalkOut:
        """Rename or describe a talk; only the fields given change (a group talk keeps a
        name). Its participants, and admins."""
        return await talks.update_talk(principal, talk_id, data)

    @delete("/{talk_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        """Delete a talk, for everyone in it. Its creator, or an admin."""
        return await talks.delete_talk(principal, talk_id)

    @post("/{talk_id:str}/close", status_code=200)
    async def close_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        """Close a talk: it takes no messages until reopened (`409 talk_closed`). Writes a
        system message. Its participants, and admins."""
        return await talks.close_talk(principal, talk_id)

    @post("/{talk_id:str}/reopen", status_code=200)
    async def reopen_talk(self, principal: Principal, talk_id: str) -> TalkOut:
        """Reopen a closed talk. Writes a system message. Its participants, and admins."""
        return await talks.reopen_talk(principal, talk_id)

    @post("/{talk_id:str}/read", status_code=200)
    async def mark_read(self, principal: Principal, talk_id: str) -> TalkUnreadOut:
        """Mark the talk read up to now: your unread count for it becomes 0."""
        return await talk_messages.mark_read(principal, talk_id)

    @post(
        "/{talk_id:str}/participants",
        opt=answers(Conflict, idempotent=True),
        responses={
            200: ResponseSpec(TalkParticipantOut, description="The agent was in it already")
        },
    )
    async def add_participant(
        self, request: Request, principal: Principal, talk_id: str, data: TalkParticipantIn
    ) -> Response[TalkParticipantOut]:
        """Add an agent to the talk (it sees the talk's history). An agent already in it
        answers `200`. A direct talk keeps its two agents, and a closed talk takes nobody
        until it is reopened (`409`). Its participants, and admins."""

        async def add() -> tuple[TalkParticipantOut, int]:
            return _created(*await talks.add_participant(principal, talk_id, data.agent_id))

        return await idempotent(request, principal, add)

    @delete(
        "/{talk_id:str}/participants/{participant_id:str}",
        status_code=200,
        opt=answers(Forbidden, Conflict),
    )
    async def remove_participant(
        self, principal: Principal, talk_id: str, participant_id: str
    ) -> TalkParticipantOut:
        """Take an agent out of the talk: yourself (leaving), or anyone if you created the
        talk or are an admin (`403` otherwise). A direct talk's agents can only leave
        (`409`). A talk everyone has left closes."""
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
        page_token: str | None = PAGE_TOKEN,
    ) -> TalkMessagePage:
        """The talk's messages, newest first: the main stream lists thread roots (each with
        its `reply_count`); `parent_id` lists that thread instead. Participants only."""
        result, token = await talk_messages.list_messages(
            principal, talk_id, parent_id, page_size, page_token
        )
        return TalkMessagePage(result=result, next_page_token=token)

    @post("/{talk_id:str}/messages", opt=answers(Conflict, idempotent=True))
    async def post_message(
        self, request: Request, principal: Principal, talk_id: str, data: TalkMessageCreate
    ) -> Response[TalkMessageOut]:
        """Post in the talk: text, media, or both. `parent_id` makes it a reply; threads are
        one level deep, so a reply to a reply joins its root's thread. A closed talk, or a
        deleted parent, is a `409`. Participants only."""
        return await idempotent(
            request, principal, lambda: talk_messages.post_message(principal, talk_id, data)
        )

    @get("/{talk_id:str}/messages/{message_id:str}")
    async def get_message(
        self, principal: Principal, talk_id: str, message_id: str
    ) -> TalkMessageOut:
        """One message of the talk. Participants only."""
        return await talk_messages.get_message(principal, talk_id, message_id)

    @put("/{talk_id:str}/messages/{message_id:str}", opt=answers(Forbidden, Conflict))
    async def edit_message(
        self, principal: Principal, talk_id: str, message_id: str, data: TalkMessageUpdate
    ) -> TalkMessageOut:
        """Change your message's text: `tm_update` moves, `tm_create` stays. Only its author
        (`403`); a deleted message, or a closed talk, is a `409`."""
        return await talk_messages.edit_message(principal, talk_id, message_id, data.text)

    @delete("/{talk_id:str}/messages/{message_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_message(
        self, principal: Principal, settings: Settings, talk_id: str, message_id: str
    ) -> TalkMessageOut:
        """Delete a message: its text, files and reactions go and `tm_delete` is set; a
        deleted thread root stays while it has replies. Its author, or an admin."""
        return await talk_messages.delete_message(principal, talk_id, message_id, settings.data_dir)


class ReactionController(Controller):
    path = "/v1.0/messages/{message_id:str}/reactions"
    tags = ["talks"]

    @post(
        "/",
        opt=answers(Conflict),
        responses={200: ResponseSpec(TalkMessageOut, description="You had this reaction already")},
    )
    async def add_reaction(
        self, principal: Principal, message_id: str, data: ReactionIn
    ) -> Response[TalkMessageOut]:
        """React to a talk message with a Unicode emoji or a short name: `thumbsup`,
        `:thumbsup:` and 👍 are one reaction, once per agent. Answers the message with its
        `reactions`; one you already have answers `200`. A deleted message, or a closed
        talk, is a `409`. Participants only."""
        message, added = await talk_messages.add_reaction(principal, message_id, data.emoji)
        return Response(message, status_code=201 if added else 200)

    @delete("/{emoji:str}", status_code=200, opt=answers(Conflict, InvalidInput))
    async def remove_reaction(
        self, principal: Principal, message_id: str, emoji: str
    ) -> TalkMessageOut:
        """Take your reaction (an emoji or its short name) off a message; answers the
        message. Something that is not an emoji is a `422`. Participants only."""
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

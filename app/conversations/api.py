"""`/v1.0/conversations`: rooms, their participants and their messages."""

from __future__ import annotations

from typing import Literal

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.conversations import messages, notes
from app.conversations import service as conversations
from app.domain.enums import ConversationStatus, Priority, ReferenceType
from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    ActivityOut,
    ActivityPage,
    ConversationCreate,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
    MessagePage,
    MessageUpdate,
    NoteCreate,
    ParticipantIn,
    ParticipantOut,
    TimelinePage,
)
from app.settings import Settings


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
        tag: str | None = Parameter(default=None, description="rooms with this tag"),
        q: str | None = Parameter(
            default=None,
            max_length=200,
            description="words to find in names, addresses and message text",
        ),
        team_id: str | None = Parameter(default=None, description="rooms of this team"),
        priority: Priority | None = None,
        snoozed: bool | None = Parameter(
            default=None, description="`true`: snoozed rooms only; `false`: none of them"
        ),
        sla: Literal["breached", "warning"] | None = Parameter(
            default=None,
            description="rooms whose most pressing SLA clock is `breached`, or `warning`"
            " (running, past its warning time)",
        ),
        sort: Literal["created", "priority", "sla"] = Parameter(
            default="created",
            description="`created`: newest first; `priority`: urgent first, then newest"
            " first; `sla`: breaching soonest first (breached rooms first, rooms without a"
            " running clock last)",
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> ConversationPage:
        """The rooms the caller may see, newest first: admins and managers see every room,
        an agent the rooms assigned to it and the unassigned ones. Filters: `status`,
        `reference_type` (the channel), `owner_id`, `tag`, `q`, `team_id`, `priority`,
        `snoozed` and `sla`; `sort=priority` lists urgent rooms first, `sort=sla` the rooms
        breaching soonest."""
        result, token = await conversations.list_conversations(
            principal,
            status=status,
            reference_type=reference_type,
            owner_id=owner_id,
            tag=tag,
            q=q,
            team_id=team_id,
            priority=priority,
            snoozed=snoozed,
            sla=sla,
            sort=sort,
            page_size=page_size,
            page_token=page_token,
        )
        return ConversationPage(result=result, next_page_token=token)

    @post("/", opt=answers(NotFound, idempotent=True))
    async def create_conversation(
        self, request: Request, principal: Principal, settings: Settings, data: ConversationCreate
    ) -> Response[ConversationOut]:
        """Open a room with the given participants (the people to reach: a phone number,
        an email address...; phone numbers are stored in E.164). The room's channel account
        is `account_id` (an unknown one is a `404`), else the customer's first account of
        the first participant's channel."""
        return await idempotent(
            request,
            principal,
            lambda: conversations.create_conversation(
                principal, data, default_region=settings.default_region
            ),
        )

    @get("/{conversation_id:str}")
    async def get_conversation(self, principal: Principal, conversation_id: str) -> ConversationOut:
        """One room, with its participants and its last message."""
        return await conversations.get_conversation(principal, conversation_id)

    @put("/{conversation_id:str}", opt=answers(Forbidden))
    async def update_conversation(
        self, principal: Principal, conversation_id: str, data: ConversationUpdate
    ) -> ConversationOut:
        """Rename a room, assign it (`owner_id`: an agent's id; null unassigns), close it
        (`status: closed`) or reopen it (`active`), or set its tags; only the fields given
        change. An agent may assign a room to itself or unassign it; handing a room to
        someone else takes a manager or an admin (`403`)."""
        return await conversations.update_conversation(principal, conversation_id, data)

    @delete("/{conversation_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_conversation(
        self, principal: Principal, conversation_id: str
    ) -> ConversationOut:
        """Delete a room; it leaves every list and view. Managers and admins only."""
        return await conversations.delete_conversation(principal, conversation_id)

    @post("/{conversation_id:str}/participants", opt=answers(Conflict, idempotent=True))
    async def add_participant(
        self,
        request: Request,
        principal: Principal,
        settings: Settings,
        conversation_id: str,
        data: ParticipantIn,
    ) -> Response[ParticipantOut]:
        """Add a person (an address on a channel) to the room, so replies can reach them
        there too. An address already in the room is a `409`."""
        return await idempotent(
            request,
            principal,
            lambda: conversations.add_participant(
                principal, conversation_id, data, default_region=settings.default_region
            ),
        )

    @delete(
        "/{conversation_id:str}/participants/{participant_id:str}",
        status_code=200,
        opt=answers(Conflict),
    )
    async def remove_participant(
        self, principal: Principal, conversation_id: str, participant_id: str
    ) -> ParticipantOut:
        """Remove a participant from the room; returns it. The customer's own address
        cannot leave (`409`)."""
        return await conversations.remove_participant(principal, conversation_id, participant_id)

    @get("/{conversation_id:str}/messages")
    async def list_messages(
        self,
        principal: Principal,
        conversation_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> MessagePage:
        """The room's messages across every channel, newest first, each with its channel
        and delivery status. `GET …/timeline` mixes in the room's notes and system lines."""
        result, token = await messages.list_messages(
            principal, conversation_id, page_size, page_token
        )
        return MessagePage(result=result, next_page_token=token)

    @get("/{conversation_id:str}/timeline")
    async def timeline(
        self,
        principal: Principal,
        conversation_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
        include: str | None = Parameter(
            default=None,
            max_length=40,
            description="which lines to mix in with the messages: `notes`, `system` or "
            "`notes,system` (the default)",
        ),
    ) -> TimelinePage:
        """The room's messages, internal notes and system lines in one list, newest first,
        each with its `kind`: `message` (the message resource), `note` or `system`."""
        kinds = messages.parse_include(include)
        result, token = await messages.list_with_lines(
            principal, conversation_id, kinds, page_size, page_token
        )
        return TimelinePage(result=result, next_page_token=token)

    @post("/{conversation_id:str}/messages", opt=answers(idempotent=True))
    async def send_message(
        self, request: Request, principal: Principal, conversation_id: str, data: MessageCreate
    ) -> Response[MessageOut]:
        """Reply in the room: to `participant_id`, else to the person who wrote last, over
        the channel account they used; media goes only over a channel that carries it. The
        message starts `progressing` and becomes `done` when the provider takes it, or
        `failed` with the provider's reason (the `conversation_message_updated` event and
        webhook say when). A message needs text or media (`422`).

        `scheduled_at` sends it later: it waits with status `scheduled` (a time in the
        past, or more than 365 days ahead, is a `422`). `if_no_activity_since` (the
        `tm_create` of the newest message the sender saw) refuses to send a stale reply:
        if the customer wrote, or someone else replied, after it, the answer is `409
        stale_reply` and nothing is sent."""
        return await idempotent(
            request, principal, lambda: messages.send_message(principal, conversation_id, data)
        )

    @get("/{conversation_id:str}/messages/{message_id:str}")
    async def get_message(
        self, principal: Principal, conversation_id: str, message_id: str
    ) -> MessageOut:
        """One message of the room."""
        return await messages.get_message(principal, conversation_id, message_id)

    @put("/{conversation_id:str}/messages/{message_id:str}", opt=answers(Conflict))
    async def update_message(
        self, principal: Principal, conversation_id: str, message_id: str, data: MessageUpdate
    ) -> MessageOut:
        """Change a scheduled message's `text` or `scheduled_at` before it goes out. A
        message that is not `scheduled` (sent, sending, canceled) is a `409
        not_scheduled`."""
        return await messages.update_scheduled(principal, conversation_id, message_id, data)

    @post(
        "/{conversation_id:str}/messages/{message_id:str}/cancel",
        status_code=200,
        opt=answers(Conflict),
    )
    async def cancel_message(
        self, principal: Principal, conversation_id: str, message_id: str
    ) -> MessageOut:
        """Cancel a scheduled message: status `canceled`, never sent. One that already
        went out (or is going) is a `409 not_scheduled`."""
        return await messages.cancel_scheduled(principal, conversation_id, message_id)

    @get("/{conversation_id:str}/notes")
    async def list_notes(
        self,
        principal: Principal,
        conversation_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> ActivityPage:
        """The room's internal notes (agents only; customers never see them), newest
        first."""
        result, token = await notes.list_notes(principal, conversation_id, page_size, page_token)
        return ActivityPage(result=result, next_page_token=token)

    @post("/{conversation_id:str}/notes", opt=answers(idempotent=True))
    async def add_note(
        self, request: Request, principal: Principal, conversation_id: str, data: NoteCreate
    ) -> Response[ActivityOut]:
        """Write an internal note in the room's timeline, as the caller (`agent_id`). An
        empty note (only spaces) is a `422`."""
        return await idempotent(
            request, principal, lambda: notes.add_note(principal, conversation_id, data.text)
        )

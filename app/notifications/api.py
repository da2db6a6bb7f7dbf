"""`/v1.0/notifications`: the caller's notifications (mentions, assignments), newest
first, and marking them read."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import Parameter

from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.domain.errors import Forbidden, NotFound
from app.domain.principal import Principal
from app.domain.resources import (
    NotificationOut,
    NotificationPage,
    NotificationReadAll,
    NotificationReadAllResult,
)
from app.notifications import service


class NotificationController(Controller):
    path = "/v1.0/notifications"
    tags = ["notifications"]

    @get("/", opt=answers(Forbidden, NotFound))
    async def list_notifications(
        self,
        principal: Principal,
        read: bool | None = Parameter(
            default=None, description="`false`: only unread ones; `true`: only read ones"
        ),
        agent_id: str | None = Parameter(
            default=None,
            max_length=64,
            description="another agent's notifications (admins only); default: the caller's",
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> NotificationPage:
        """The caller's notifications, newest first: `mention` (an agent wrote `@you` in a
        note) and `assigned` (someone else, or routing, gave you a room). A token reads
        its agent's; an access key acts as the admin who made it and reads that admin's.
        Admins may read another agent's with `agent_id` (403 for others; 404 for an id
        that is not an agent of the customer)."""
        result, token = await service.list_notifications(
            principal, read=read, agent_id=agent_id, page_size=page_size, page_token=page_token
        )
        return NotificationPage(result=result, next_page_token=token)

    @post("/read_all", status_code=200, opt=answers(NotFound))
    async def read_all_notifications(
        self, principal: Principal, data: NotificationReadAll | None = None
    ) -> NotificationReadAllResult:
        """Mark every unread notification of the caller read — or only those of one room
        (`{"conversation_id"}`; 404 if the customer has no such room). One
        `notification_updated` event per notification that changed; the answer says how
        many did."""
        conversation_id = data.conversation_id if data is not None else None
        updated = await service.read_all(principal, conversation_id)
        return NotificationReadAllResult(updated=updated)

    @post("/{notification_id:str}/read", status_code=200)
    async def read_notification(
        self, principal: Principal, notification_id: str
    ) -> NotificationOut:
        """Mark one of the caller's notifications read; marking a read one again changes
        nothing. Another agent's notification is a 404, as another customer's is."""
        return await service.read_one(principal, notification_id)

"""`/v1.0/audit_log`: who did what to which thing, for admins."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.audit import service
from app.domain.enums import ActorType
from app.domain.errors import Forbidden
from app.domain.principal import Principal
from app.domain.resources import AuditPage


class AuditLogController(Controller):
    path = "/v1.0/audit_log"
    tags = ["audit"]
    opt = answers(Forbidden)  # admins only

    @get("/")
    async def list_audit_log(
        self,
        principal: Principal,
        actor_id: str | None = Parameter(
            default=None, max_length=64, description="entries made by this agent"
        ),
        actor_type: ActorType | None = Parameter(
            default=None, description="`agent`, `accesskey` or `system` (routing, timers)"
        ),
        action: str | None = Parameter(
            default=None, max_length=service.ACTION_MAX, description="e.g. `agent.created`"
        ),
        target_type: str | None = Parameter(
            default=None, max_length=service.TARGET_TYPE_MAX, description="e.g. `team`"
        ),
        target_id: str | None = Parameter(default=None, max_length=service.TARGET_ID_MAX),
        since: str | None = Parameter(
            query="from", default=None, max_length=64, description="from this time on"
        ),
        until: str | None = Parameter(
            query="to", default=None, max_length=64, description="before this time"
        ),
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> AuditPage:
        """The audit log, newest first: every admin action and every routing decision, with
        who did it (`actor_type` `agent`, `accesskey` or `system`, and `actor_id`), the
        target, and its state `before` and `after`. Filters: `actor_id`, `action`,
        `target_type`, `target_id`, `actor_type`, `from` and `to`. Admins only."""
        f = service.audit_filter(
            actor_id=actor_id,
            actor_type=actor_type.value if actor_type else None,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
        )
        result, token = await service.list_entries(principal, f, page_size, page_token)
        return AuditPage(result=result, next_page_token=token)

"""`/v1.0/automation_rules` (admins), `/v1.0/macros` (any agent: its own and the shared
ones; admins change the shared ones) and `POST /v1.0/conversations/{id}/macros/{macro_id}`
(apply one)."""

from __future__ import annotations

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import Parameter

from app.api.idempotency import idempotent
from app.api.openapi import answers
from app.api.params import PAGE_SIZE, PAGE_TOKEN
from app.automation import service
from app.domain.automation import (
    AutomationRuleCreate,
    AutomationRuleOut,
    AutomationRulePage,
    AutomationRuleUpdate,
    AutomationRunPage,
    MacroCreate,
    MacroOut,
    MacroPage,
    MacroUpdate,
    PreviewIn,
    PreviewOut,
    Trigger,
)
from app.domain.errors import Conflict, Forbidden
from app.domain.principal import Principal
from app.domain.resources import MacroRunOut


class AutomationRuleController(Controller):
    path = "/v1.0/automation_rules"
    tags = ["automation rules"]
    opt = answers(Forbidden)

    @get("/")
    async def list_automation_rules(
        self,
        principal: Principal,
        trigger: Trigger | None = Parameter(
            default=None, description="Only the rules of this trigger."
        ),
    ) -> AutomationRulePage:
        """Every rule of the customer (of a `trigger`, when given), in the order they run
        (`position`, then oldest first); one page (a customer has at most 200 rules).
        Admins only."""
        rules = await service.list_rules(principal, trigger)
        return AutomationRulePage(result=rules, next_page_token="")

    @post("/", opt=answers(Forbidden, Conflict, idempotent=True))
    async def create_automation_rule(
        self, request: Request, principal: Principal, data: AutomationRuleCreate
    ) -> Response[AutomationRuleOut]:
        """Create a rule: a `trigger` (`trigger_minutes` for the time triggers), the
        `conditions` that must hold (`match`: `all` or `any`; none: always) and the
        `actions` it takes, in order. A rule starts inactive unless `active` is true: try
        it first with `POST …/{id}/preview`. A condition or action that cannot work (an
        unknown field, an operator its field does not take, a pattern RE2 refuses, an
        agent, team or canned reply that is not the customer's) is a `422 invalid_rule`
        naming where. Admins only."""
        return await idempotent(request, principal, lambda: service.create_rule(principal, data))

    @get("/{rule_id:str}")
    async def get_automation_rule(self, principal: Principal, rule_id: str) -> AutomationRuleOut:
        """One rule. Admins only."""
        return await service.get_rule(principal, rule_id)

    @put("/{rule_id:str}")
    async def update_automation_rule(
        self, principal: Principal, rule_id: str, data: AutomationRuleUpdate
    ) -> AutomationRuleOut:
        """Change a rule; only the fields given change (`active: true` enables it).
        Admins only."""
        return await service.update_rule(principal, rule_id, data)

    @delete("/{rule_id:str}", status_code=200)
    async def delete_automation_rule(self, principal: Principal, rule_id: str) -> AutomationRuleOut:
        """Delete a rule (its runs stay readable in the audit log). Admins only."""
        return await service.delete_rule(principal, rule_id)

    @get("/{rule_id:str}/runs")
    async def list_automation_rule_runs(
        self,
        principal: Principal,
        rule_id: str,
        page_size: int = PAGE_SIZE,
        page_token: str | None = PAGE_TOKEN,
    ) -> AutomationRunPage:
        """The rule's recent executions, newest first: the room, what each condition found
        and what each action did (or why it could not). Admins only."""
        result, token = await service.list_runs(principal, rule_id, page_size, page_token)
        return AutomationRunPage(result=result, next_page_token=token)

    @post("/{rule_id:str}/preview", status_code=200)
    async def preview_automation_rule(
        self, principal: Principal, rule_id: str, data: PreviewIn
    ) -> PreviewOut:
        """Try the rule on the latest conversations (`limit`, at most 500; `since`: those
        created since then) as they are now: which would match, what each condition
        found, and what the actions would do. Changes nothing. Admins only."""
        return await service.preview(principal, rule_id, data)


class MacroController(Controller):
    path = "/v1.0/macros"
    tags = ["macros"]

    @get("/")
    async def list_macros(
        self, principal: Principal, page_size: int = PAGE_SIZE, page_token: str | None = PAGE_TOKEN
    ) -> MacroPage:
        """Your own macros and the shared ones, newest first. Any agent."""
        result, token = await service.list_macros(principal, page_size, page_token)
        return MacroPage(result=result, next_page_token=token)

    @post("/", opt=answers(Forbidden, idempotent=True))
    async def create_macro(
        self, request: Request, principal: Principal, data: MacroCreate
    ) -> Response[MacroOut]:
        """Create a macro: a `name` and the `actions` it takes in order (the rules'
        actions). `owner_id` omitted or your own id makes it personal; `null` makes it
        shared, which only admins may (`403`)."""
        return await idempotent(request, principal, lambda: service.create_macro(principal, data))

    @get("/{macro_id:str}")
    async def get_macro(self, principal: Principal, macro_id: str) -> MacroOut:
        """One macro: your own, or a shared one."""
        return await service.get_macro(principal, macro_id)

    @put("/{macro_id:str}", opt=answers(Forbidden))
    async def update_macro(
        self, principal: Principal, macro_id: str, data: MacroUpdate
    ) -> MacroOut:
        """Change a macro; only the fields given change. Your own; shared ones only as an
        admin (`403`)."""
        return await service.update_macro(principal, macro_id, data)

    @delete("/{macro_id:str}", status_code=200, opt=answers(Forbidden))
    async def delete_macro(self, principal: Principal, macro_id: str) -> MacroOut:
        """Delete a macro. Your own; shared ones only as an admin (`403`)."""
        return await service.delete_macro(principal, macro_id)


@post(
    "/v1.0/conversations/{conversation_id:str}/macros/{macro_id:str}",
    status_code=200,
    tags=["macros"],
)
async def run_macro(principal: Principal, conversation_id: str, macro_id: str) -> MacroRunOut:
    """Apply a macro to a conversation you may see: its actions in order, each as if you
    took it (your permission: an agent cannot assign the room to someone else). An
    action that cannot be done is skipped with its reason; the others are done. The
    room's timeline says what the macro did. Returns the run and the room as it now is."""
    return await service.run_macro(principal, conversation_id, macro_id)

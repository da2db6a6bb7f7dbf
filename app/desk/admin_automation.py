"""Admin → Automation (`/admin/automation`): the rules in the order they run, a form to
create and edit one (conditions and actions as rows), its preview on the latest
conversations, its recent runs; and the shared macros, edited with the same action rows.

Every rule is in `automation.service`, the code `/v1.0/automation_rules` and
`/v1.0/macros` call: this module turns the rows of a form into the API's shapes and a
refusal into a form error naming the row and the field. Works without JavaScript (every
value input of a row is sent, and only the one its field or type needs is read);
static/js/automation.js adds and removes rows and shows only the inputs that matter.
An agent's own macros (`macros_pages`, `/macros`) use the same rows, choices and readers.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.automation import service
from app.canned import service as canned_service
from app.channels import accounts
from app.conversations import service as conversations
from app.core.events import last_event_id
from app.desk import inbox
from app.desk.admin_channels import admin_principal
from app.desk.admin_kit import admin_context, form_text, page_router
from app.desk.forms import FormRefused, convert
from app.desk.render import is_htmx
from app.domain import automation as rules
from app.domain.automation import (
    ActionType,
    AutomationRuleCreate,
    AutomationRuleOut,
    AutomationRuleUpdate,
    Field,
    MacroCreate,
    MacroOut,
    MacroUpdate,
    Operator,
    PreviewIn,
    Trigger,
)
from app.domain.enums import ConversationStatus, Priority, ReferenceType
from app.domain.errors import NotFound, ServiceError
from app.domain.principal import Principal
from app.domain.resources import CannedResponseOut
from app.domain.timefmt import fmt, now
from app.people import agents

TRIGGERS = {
    Trigger.CONVERSATION_CREATED: "A conversation is created",
    Trigger.MESSAGE_RECEIVED: "A customer message arrives",
    Trigger.MESSAGE_SENT: "A reply is sent",
    Trigger.CONVERSATION_UPDATED: "A conversation changes",
    Trigger.NO_AGENT_REPLY: "No agent reply for a while",
    Trigger.WAITING_ON_CUSTOMER: "Waiting on the customer for a while",
    Trigger.SNOOZE_WOKE: "A snooze ends",
    Trigger.SLA_WARNING: "An SLA target is near",
    Trigger.SLA_BREACHED: "An SLA target is missed",
}
ATTRIBUTE = "attribute"
"""The field select's choice for `attribute.<key>` (the key is its own input)."""
FIELDS: dict[str, str] = {
    Field.TEXT: "Message text",
    Field.CHANNEL: "Channel",
    Field.STATUS: "Status",
    Field.PRIORITY: "Priority",
    Field.TAGS: "Conversation tags",
    Field.TEAM_ID: "Team",
    Field.ASSIGNEE_ID: "Assignee",
    Field.ACCOUNT_ID: "Channel account",
    Field.CONTACT_ADDRESS: "Contact address",
    Field.CONTACT_TAG: "Contact tag",
    Field.BUSINESS_HOURS: "Business hours",
    ATTRIBUTE: "Contact attribute",
}
OPERATORS = {
    Operator.EQUALS: "is",
    Operator.NOT_EQUALS: "is not",
    Operator.IN: "is one of",
    Operator.NOT_IN: "is none of",
    Operator.IS_SET: "is set",
    Operator.IS_NOT_SET: "is not set",
    Operator.INCLUDES: "includes",
    Operator.EXCLUDES: "excludes",
    Operator.CONTAINS: "contains",
    Operator.NOT_CONTAINS: "does not contain",
    Operator.STARTS_WITH: "starts with",
    Operator.ENDS_WITH: "ends with",
    Operator.MATCHES: "matches the pattern",
    Operator.WITHIN: "within hours",
    Operator.OUTSIDE: "outside hours",
}
NO_VALUE = frozenset({Operator.IS_SET, Operator.IS_NOT_SET, Operator.WITHIN, Operator.OUTSIDE})
LISTS = frozenset({Operator.IN, Operator.NOT_IN, Operator.INCLUDES, Operator.EXCLUDES})
CONDITION_INPUT: dict[str, str] = {
    Field.ACCOUNT_ID: "account",
    Field.TEAM_ID: "team",
    Field.ASSIGNEE_ID: "agent",
    Field.PRIORITY: "priority",
    Field.STATUS: "status",
    Field.CHANNEL: "channel",
}
"""A condition's value input, by field (the others: a text box)."""
ACTIONS = {
    ActionType.SET_PRIORITY: "Set priority",
    ActionType.ADD_TAGS: "Add tags",
    ActionType.REMOVE_TAGS: "Remove tags",
    ActionType.ASSIGN: "Assign to",
    ActionType.ROUTE: "Send to routing",
    ActionType.MOVE_TEAM: "Move to team",
    ActionType.SEND_CANNED: "Send canned reply",
    ActionType.ADD_NOTE: "Add a note",
    ActionType.SNOOZE: "Snooze",
    ActionType.CLOSE: "Close",
    ActionType.REOPEN: "Reopen",
    ActionType.NOTIFY: "Notify",
}
ACTION_INPUT: dict[str, str] = {
    ActionType.ASSIGN: "agent",
    ActionType.MOVE_TEAM: "team",
    ActionType.ADD_TAGS: "tags",
    ActionType.REMOVE_TAGS: "tags",
    ActionType.SET_PRIORITY: "priority",
    ActionType.SEND_CANNED: "canned",
    ActionType.ADD_NOTE: "note",
    ActionType.SNOOZE: "minutes",
    ActionType.NOTIFY: "notify",
}
"""An action's value input, by type (route, close and reopen take none)."""
LABELS = {
    "name": "The name",
    "trigger": "The trigger",
    "trigger_minutes": "The minutes",
    "match": "Match",
    "conditions": "The conditions",
    "actions": "The actions",
    "position": "The order",
}
MAX_ROWS = 50
"""Rows read from a form, at most (the service allows 20 of each and says so)."""
PREVIEW_SCOPES = {"latest": "Latest 50", "week": "Since last week"}
"""What a preview tries the rule on: the latest 50 conversations, or those created in the
past 7 days (up to 200)."""


# --- what the pages show -----------------------------------------------------------------


async def choices(principal: Principal, canned_scope: str = "shared") -> dict[str, Any]:
    """What the row editors offer, and the names that turn ids into words. A rule or a
    shared macro may send only the shared canned replies; an agent's own macro also its
    own replies (`canned_scope="all"`): the service says so if another is named."""
    directory = await agents.directory(principal)
    teams = await inbox.all_teams(principal)
    canned = await _canned(principal, canned_scope)
    channel_accounts = [
        {"id": str(a.id), "name": f"{a.name or a.type} · {a.address}" if a.address else a.name}
        for a in await accounts.live_accounts(principal.customer_id)
    ]
    names = {a.id: a.name for a in directory}
    names |= {a["id"]: a["name"] for a in channel_accounts}
    names |= {t.id: t.name for t in teams}
    names |= {c.id: f"/{c.shortcut}" for c in canned}
    return {
        "directory": directory,
        "teams": teams,
        "accounts": channel_accounts,
        "canned": canned,
        "no_canned": f"No {'shared ' if canned_scope == 'shared' else ''}canned replies yet",
        "names": names,
        "priorities": [p.value for p in Priority],
        "statuses": [s.value for s in ConversationStatus],
        "channels": [r.value for r in ReferenceType],
        "triggers": TRIGGERS,
        "time_triggers": sorted(rules.TIME_TRIGGERS),
        "fields": FIELDS,
        "operators": OPERATORS,
        "field_operators": {
            **{f: [o.value for o in ops] for f, ops in rules.OPERATORS.items()},
            ATTRIBUTE: [o.value for o in rules.OPERATORS[Field.TEXT]],
        },
        "no_value": sorted(NO_VALUE),
        "condition_input": CONDITION_INPUT,
        "actions": ACTIONS,
        "action_input": ACTION_INPUT,
        "said": lambda a, names=names: sentence(rules.describe(a, names)),
        "sentence": sentence,
        "when": _when,
        "condition_words": lambda c, names=names: _condition_words(c, names),
    }


def sentence(text: str) -> str:
    """The words with a capital first letter (Jinja's `capitalize` would lower the rest,
    a team's or an agent's name included)."""
    return text[:1].upper() + text[1:]


async def _canned(principal: Principal, scope: str) -> list[CannedResponseOut]:
    """The canned replies of `scope` ("shared", or "all": the agent's own too), by
    shortcut."""
    found, token = await canned_service.list_page(principal, scope=scope)
    while token:
        more, token = await canned_service.list_page(principal, scope=scope, page_token=token)
        found.extend(more)
    return sorted(found, key=lambda c: c.shortcut)


def _when(rule: AutomationRuleOut) -> str:
    """The trigger in words ("No agent reply for 30 min", "… for 3 days")."""
    words = TRIGGERS[rule.trigger]
    minutes = rule.trigger_minutes
    if minutes is None:
        return words
    if minutes % 1440 == 0:
        span = f"{minutes // 1440} day{'s' if minutes > 1440 else ''}"
    elif minutes % 60 == 0:
        span = f"{minutes // 60} h"
    else:
        span = f"{minutes} min"
    return words.replace("a while", span)


def _condition_words(c: rules.Condition, names: dict[str, str]) -> str:
    """ "Message text contains “refund”", with ids as names."""
    key = c.field.removeprefix(rules.ATTRIBUTE_PREFIX)
    field = FIELDS.get(c.field) or f"Contact attribute {key}"
    said = f"{field} {OPERATORS[Operator(c.operator)]}"
    if c.value is None:
        return said
    values = c.value if isinstance(c.value, list) else [c.value]
    return said + " " + ", ".join(f"“{names.get(str(v), v)}”" for v in values)


async def _context(principal: Principal, **extra: Any) -> dict[str, Any]:
    return await admin_context(principal, "automation", **await choices(principal), **extra)


async def _shared_macros(principal: Principal) -> list[MacroOut]:
    """The shared macros (an admin's personal ones are on no admin page), by name."""
    found, token = await service.list_macros(principal, 100, None)
    while token:
        more, token = await service.list_macros(principal, 100, token)
        found.extend(more)
    return sorted((m for m in found if m.owner_id is None), key=lambda m: m.name.lower())


async def lists_context(principal: Principal) -> dict[str, Any]:
    """What the page's rules and macros sections show (also pushed live when one
    changes)."""
    return await _context(
        principal,
        rules=await service.list_rules(principal),
        macros=await _shared_macros(principal),
        scopes=PREVIEW_SCOPES,
    )


async def _list_page(
    principal: Principal,
    *,
    saved: str = "",
    deleted: str = "",
    preview_id: str = "",
    scope: str = "latest",
) -> Template:
    # The event cursor is read first: a change committed while the page is built is
    # then replayed by the socket
    since = await last_event_id(principal.customer_id)
    context = await lists_context(principal)
    preview = None
    if preview_id:
        week = scope == "week"
        tried = PreviewIn(
            limit=200 if week else 50, since=fmt(now() - timedelta(days=7)) if week else None
        )
        preview = await service.preview(principal, preview_id, tried)
    context.update(
        saved=saved,
        deleted=deleted,
        preview=preview,
        scope=scope,
        live_page="automation",
        since=since,
    )
    return Template("admin/automation.html", context=context)


# --- form rows <-> the API's shapes --------------------------------------------------------


def _indices(form: FormMultiDict, prefix: str) -> list[int]:
    """The rows a form holds (`cond-3-field`, `act-0-type`), in the order shown."""
    pattern = re.compile(rf"^{prefix}-(\d{{1,4}})-(?:field|type)$")
    found = sorted({int(m.group(1)) for k in form if (m := pattern.match(k))})
    return found[:MAX_ROWS]


def _typed_conditions(form: FormMultiDict) -> list[dict[str, str]]:
    rows = []
    for i in _indices(form, "cond"):
        row = {"field": form_text(form, f"cond-{i}-field")}
        row["operator"] = form_text(form, f"cond-{i}-operator")
        row["key"] = form_text(form, f"cond-{i}-key")
        kind = CONDITION_INPUT.get(row["field"], "text")
        row["value"] = form_text(form, f"cond-{i}-{kind}")
        rows.append(row)
    return rows


def typed_actions(form: FormMultiDict) -> list[dict[str, str]]:
    rows = []
    for i in _indices(form, "act"):
        kind = ACTION_INPUT.get(form_text(form, f"act-{i}-type"), "")
        if kind == "note":  # as typed: its line breaks are the author's
            value = form.get(f"act-{i}-note")
        elif kind == "notify":  # several may be picked
            value = ", ".join(str(v).strip() for v in form.getall(f"act-{i}-notify", []))
        else:
            value = form_text(form, f"act-{i}-{kind}")
        rows.append({"type": form_text(form, f"act-{i}-type"), "value": str(value or "")})
    return rows


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _condition(row: dict[str, str], i: int) -> dict[str, Any]:
    if row["operator"] not in OPERATORS:  # a choice not on the list: say which row
        raise FormRefused("invalid_form", "pick one of the list.", f"conditions[{i}].operator")
    field = row["field"]
    if field == ATTRIBUTE:
        field = rules.ATTRIBUTE_PREFIX + row["key"]
    value: Any = row["value"]
    if row["operator"] in NO_VALUE:
        value = None
    elif row["operator"] in LISTS:
        value = _split(value)
    return {"field": field, "operator": row["operator"], "value": value}


def _action(row: dict[str, str], where: str) -> dict[str, Any]:
    if row["type"] not in ACTIONS:
        raise FormRefused("invalid_form", "pick one of the list.", f"{where}.type")
    kind, text = ACTION_INPUT.get(row["type"], ""), row["value"]
    value: Any = None
    if kind in ("agent", "canned", "priority", "note"):
        value = text
    elif kind == "team":
        value = text or None  # "No team": out of every team
    elif kind in ("tags", "notify"):
        value = _split(text)
    elif kind == "minutes" and text:
        try:
            value = int(text)
        except ValueError:
            raise FormRefused(
                "invalid_form", "Snooze: a whole number of minutes, or empty.", f"{where}.value"
            ) from None
    return {"type": row["type"], "value": value}


def actions(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [_action(row, f"actions[{i}]") for i, row in enumerate(rows)]


def _typed_form(form: FormMultiDict) -> dict[str, Any]:
    """A rule's form as typed (shown again on a refusal)."""
    typed: dict[str, Any] = {
        k: form_text(form, k) for k in ("name", "trigger", "trigger_minutes", "match", "position")
    }
    typed["active"] = "1" if form.get("active") else ""
    typed["stop_processing"] = "1" if form.get("stop_processing") else ""
    typed["conditions"] = _typed_conditions(form)
    typed["actions"] = typed_actions(form)
    return typed


def _rule_body(typed: dict[str, Any]) -> dict[str, Any]:
    """The API's body for a rule's form."""
    body: dict[str, Any] = {
        "name": typed["name"],
        "trigger": typed["trigger"],
        "match": typed["match"] or "all",
        "conditions": [_condition(c, i) for i, c in enumerate(typed["conditions"])],
        "actions": actions(typed["actions"]),
        "active": bool(typed["active"]),
        "stop_processing": bool(typed["stop_processing"]),
    }
    # the minutes input stays in the form when another trigger is picked: read it only
    # for the time triggers
    if typed["trigger"] in rules.TIME_TRIGGERS:
        body["trigger_minutes"] = _whole(typed["trigger_minutes"], "trigger_minutes", "Minutes")
    else:
        body["trigger_minutes"] = None
    if typed["position"]:  # empty: after the last rule (a new one), unchanged (an edit)
        body["position"] = _whole(typed["position"], "position", "The order")
    return body


def _whole(text: str, field: str, label: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormRefused("invalid_form", f"{label}: a whole number.", field) from None


def _row_values(value: Any) -> str:
    if value is None:
        return ""
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _typed_rule(rule: AutomationRuleOut | None) -> dict[str, Any]:
    """A rule as the form shows it."""
    if rule is None:
        return {
            "name": "", "trigger": Trigger.MESSAGE_RECEIVED.value, "trigger_minutes": "",
            "match": "all", "position": "", "active": "", "stop_processing": "",
            "conditions": [{"field": "text", "operator": "contains", "key": "", "value": ""}],
            "actions": [{"type": "add_tags", "value": ""}],
        }  # fmt: skip
    return {
        "name": rule.name,
        "trigger": rule.trigger.value,
        "trigger_minutes": _row_values(rule.trigger_minutes),
        "match": rule.match.value,
        "position": str(rule.position),
        "active": "1" if rule.active else "",
        "stop_processing": "1" if rule.stop_processing else "",
        "conditions": [_typed_condition(c) for c in rule.conditions],
        "actions": typed_action_rows(rule.actions),
    }


def _typed_condition(c: rules.Condition) -> dict[str, str]:
    attribute = c.field.startswith(rules.ATTRIBUTE_PREFIX)
    return {
        "field": ATTRIBUTE if attribute else c.field,
        "key": c.field.removeprefix(rules.ATTRIBUTE_PREFIX) if attribute else "",
        "operator": str(c.operator),
        "value": _row_values(c.value),
    }


def typed_action_rows(actions: list[rules.Action]) -> list[dict[str, str]]:
    return [{"type": str(a.type), "value": _row_values(a.value)} for a in actions]


def error_at(exc: ServiceError) -> tuple[str, str]:
    """(the message naming where, the input it is about: `conditions[1].value`,
    `name`…) for a refusal."""
    field = exc.fields[0]["field"] if exc.fields else getattr(exc, "field", "") or ""
    if exc.reason == "invalid_name":
        field = "name"
    found = re.match(r"(conditions|actions)\[(\d+)\](?:\.(\w+))?", field)
    if found:
        kind = "Condition" if found.group(1) == "conditions" else "Action"
        part = f", {found.group(3)}" if found.group(3) else ""
        return f"{kind} {int(found.group(2)) + 1}{part}: {exc.message}", field
    return exc.message, field


def refused(exc: ServiceError) -> bool:
    """Not the form's fault (not allowed, gone): the error page says so."""
    return exc.status_code in (401, 403, 404)


async def _rule_form(
    principal: Principal,
    *,
    rule: AutomationRuleOut | None = None,
    typed: dict[str, Any] | None = None,
    exc: ServiceError | None = None,
) -> Template:
    error, error_field = error_at(exc) if exc else ("", "")
    context = await _context(
        principal,
        rule=rule,
        values=typed or _typed_rule(rule),
        error=error,
        error_field=error_field,
    )
    status = exc.status_code if exc else 200
    return Template("admin/automation_form.html", context=context, status_code=status)


async def _macro_form(
    principal: Principal,
    *,
    macro: MacroOut | None = None,
    typed: dict[str, Any] | None = None,
    exc: ServiceError | None = None,
) -> Template:
    context = await _context(principal, **macro_form_context(macro, typed, exc))
    status = exc.status_code if exc else 200
    return Template("admin/automation_macro.html", context=context, status_code=status)


def macro_form_context(
    macro: MacroOut | None, typed: dict[str, Any] | None, exc: ServiceError | None
) -> dict[str, Any]:
    """A macro form's own context (the shared macros' here, an agent's own on /macros):
    what was typed, else the macro's actions as rows, else one empty row; the error."""
    error, error_field = error_at(exc) if exc else ("", "")
    values = typed or {
        "name": macro.name if macro else "",
        "actions": typed_action_rows(macro.actions)
        if macro
        else [{"type": ActionType.ADD_TAGS.value, "value": ""}],
    }
    return {"macro": macro, "values": values, "error": error, "error_field": error_field}


def _back(rule_id: str = "", **query: str) -> Redirect:
    where = "/admin/automation" + (f"?{urlencode(query)}" if query else "")
    return Redirect(where + (f"#rule-{rule_id}" if rule_id else ""), status_code=303)


class AutomationController(Controller):
    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/")
    async def automation_page(
        self,
        principal: Principal,
        saved: str = "",
        deleted: str = "",
        preview: str = "",
        sample: str = "latest",
    ) -> Template:
        return await _list_page(
            principal,
            saved=saved[:64],
            deleted=deleted[:255],
            preview_id=preview[:64],
            scope=sample if sample in PREVIEW_SCOPES else "latest",
        )

    @get("/new")
    async def new_rule(self, principal: Principal) -> Template:
        return await _rule_form(principal)

    @post("/")
    async def create_rule(self, request: Request, principal: Principal) -> Response:
        typed = _typed_form(await request.form())
        try:
            body = convert(_rule_body(typed), AutomationRuleCreate, LABELS)
            rule = await service.create_rule(principal, body)
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _rule_form(principal, typed=typed, exc=exc)
        return _back(rule.id, saved=rule.id)

    @get("/{rule_id:str}")
    async def edit_rule(self, principal: Principal, rule_id: str) -> Template:
        return await _rule_form(principal, rule=await service.get_rule(principal, rule_id))

    @post("/{rule_id:str}")
    async def save_rule(self, request: Request, principal: Principal, rule_id: str) -> Response:
        rule = await service.get_rule(principal, rule_id)
        typed = _typed_form(await request.form())
        try:
            data = convert(_rule_body(typed), AutomationRuleUpdate, LABELS)
            await service.update_rule(principal, rule.id, data)
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _rule_form(principal, rule=rule, typed=typed, exc=exc)
        return _back(rule.id, saved=rule.id)

    @post("/{rule_id:str}/active")
    async def set_active(self, request: Request, principal: Principal, rule_id: str) -> Response:
        """The list's on/off switch (with htmx, the socket brings the list's change)."""
        on = form_text(await request.form(), "active") == "1"
        rule = await service.update_rule(principal, rule_id, AutomationRuleUpdate(active=on))
        if is_htmx(request):
            return Response("", status_code=204)
        return _back(rule.id, saved=rule.id)

    @post("/{rule_id:str}/delete")
    async def delete_rule(self, principal: Principal, rule_id: str) -> Response:
        rule = await service.delete_rule(principal, rule_id)
        return _back(deleted=rule.name[:200])

    @get("/{rule_id:str}/runs")
    async def runs(self, principal: Principal, rule_id: str) -> Template:
        rule = await service.get_rule(principal, rule_id)
        found, _ = await service.list_runs(principal, rule.id, 50, None)
        rooms = {}
        for run in found:
            if run.conversation_id not in rooms:
                row = await conversations.room_by_id(principal.customer_id, run.conversation_id)
                rooms[run.conversation_id] = row.name if row else ""
        context = await _context(principal, rule=rule, runs=found, rooms=rooms)
        return Template("admin/automation_runs.html", context=context)


class MacroAdminController(Controller):
    """The shared macros (`owner_id` null): any agent may apply them, admins change them."""

    path = "/"
    dependencies = {"principal": Provide(admin_principal)}
    include_in_schema = False

    @get("/new")
    async def new_macro(self, principal: Principal) -> Template:
        return await _macro_form(principal)

    @post("/")
    async def create_macro(self, request: Request, principal: Principal) -> Response:
        form = await request.form()
        typed: dict[str, Any] = {"name": form_text(form, "name"), "actions": typed_actions(form)}
        try:
            body = {"name": typed["name"], "actions": actions(typed["actions"]), "owner_id": None}
            macro = await service.create_macro(principal, convert(body, MacroCreate, LABELS))
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _macro_form(principal, typed=typed, exc=exc)
        return Redirect(f"/admin/automation?saved={macro.id}#macro-{macro.id}", status_code=303)

    @get("/{macro_id:str}")
    async def edit_macro(self, principal: Principal, macro_id: str) -> Template:
        return await _macro_form(principal, macro=await _shared(principal, macro_id))

    @post("/{macro_id:str}")
    async def save_macro(self, request: Request, principal: Principal, macro_id: str) -> Response:
        macro = await _shared(principal, macro_id)
        form = await request.form()
        typed: dict[str, Any] = {"name": form_text(form, "name"), "actions": typed_actions(form)}
        try:
            body = {"name": typed["name"], "actions": actions(typed["actions"])}
            await service.update_macro(principal, macro.id, convert(body, MacroUpdate, LABELS))
        except ServiceError as exc:
            if refused(exc):
                raise
            return await _macro_form(principal, macro=macro, typed=typed, exc=exc)
        return Redirect(f"/admin/automation?saved={macro.id}#macro-{macro.id}", status_code=303)

    @post("/{macro_id:str}/delete")
    async def delete_macro(self, principal: Principal, macro_id: str) -> Response:
        macro = await _shared(principal, macro_id)
        await service.delete_macro(principal, macro.id)
        return _back(deleted=macro.name[:200])


async def _shared(principal: Principal, macro_id: str) -> MacroOut:
    """A shared macro: an admin's personal one is changed from the API, not here."""
    macro = await service.get_macro(principal, macro_id)
    if macro.owner_id is not None:
        raise NotFound("macro_not_found", "There is no such shared macro.")
    return macro


ROUTES: list = [
    page_router("/admin/automation/macros", MacroAdminController),
    page_router("/admin/automation", AutomationController),
]

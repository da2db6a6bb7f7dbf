"""Automation rules and macros: their changes (checks, events, audit), the runs a rule
left, a rule's preview, and applying a macro.

Rules are the admins' (tenant configuration, like teams): every change is an event and
an audit entry. Macros are like canned replies: an agent's own, or shared (`owner_id`
null, admins change them); a personal macro of another agent does not exist for you.
What a rule or macro may say is checked by domain.automation; whether the ids it names
are the customer's (an agent, a team, a shared canned reply) is checked here, so a rule
never waits to fail until it first runs.
"""

from __future__ import annotations

import msgspec

from app.audit import log as audit
from app.automation import engine, store
from app.automation.store import MacroRow, RuleRow
from app.canned import store as canned_store
from app.conversations import service as conversations
from app.core.events import record_event, transaction
from app.core.ids import found, parse_id
from app.core.pagination import check_page_size, parse_token
from app.domain import automation as rules
from app.domain.automation import (
    Action,
    ActionResult,
    ActionType,
    AutomationRuleCreate,
    AutomationRuleOut,
    AutomationRuleUpdate,
    AutomationRunOut,
    Condition,
    InvalidRule,
    MacroCreate,
    MacroOut,
    MacroUpdate,
    PreviewIn,
    PreviewItem,
    PreviewOut,
    Trigger,
)
from app.domain.enums import EventType
from app.domain.errors import Conflict, InvalidInput
from app.domain.principal import Principal, require_admin
from app.domain.resources import MacroRunOut
from app.domain.timefmt import fmt, now, parse
from app.people import agents
from app.routing import engine as routing

MAX_RULES = 200
"""A customer's rules, at most: each runs on every change of its trigger."""
_RULE_NOT_FOUND = ("automation_rule_not_found", "automation rule")
_MACRO_NOT_FOUND = ("macro_not_found", "macro")


def rule_out(row: RuleRow) -> AutomationRuleOut:
    compiled = engine.compile_rule(row)
    return AutomationRuleOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        name=row.name,
        active=row.active,
        trigger=Trigger(row.trigger),
        trigger_minutes=row.trigger_minutes,
        match=rules.Match(row.match),
        conditions=compiled.conditions,
        actions=compiled.actions,
        position=row.position,
        stop_processing=row.stop_processing,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def macro_out(row: MacroRow) -> MacroOut:
    return MacroOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        owner_id=str(row.owner_id) if row.owner_id else None,
        name=row.name,
        actions=msgspec.json.decode(row.actions, type=list[Action]),
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def _refused(error: InvalidRule) -> InvalidInput:
    return InvalidInput(
        "invalid_rule", error.message, fields=[{"field": error.field, "message": error.message}]
    )


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(
            "invalid_name", "A name is needed.", fields=[{"field": "name", "message": "blank"}]
        )
    return name


async def _check_ids(customer_id: str, actions: list[Action], owner_id: str | None = None) -> None:
    """The agents, teams and canned replies the actions name are the customer's, and a
    canned reply is one the acting side may use (a rule: a shared one; a macro: its
    owner's or a shared one): else 422."""
    for i, a in enumerate(actions):
        where = f"actions[{i}].value"
        if a.type is ActionType.ASSIGN and not await agents.is_live(customer_id, str(a.value)):
            raise _refused(InvalidRule(where, "assign names an agent of this customer."))
        if a.type is ActionType.MOVE_TEAM and a.value is not None:
            if await routing.team_for_room(customer_id, str(a.value)) is None:
                raise _refused(InvalidRule(where, "move_team names a team of this customer."))
        if a.type is ActionType.SEND_CANNED:
            reply = await canned_store.live(customer_id, str(a.value))
            if reply is None or reply.owner_id is not None and str(reply.owner_id) != owner_id:
                raise _refused(
                    InvalidRule(where, "send_canned names a canned reply of this customer.")
                )
        if a.type is ActionType.NOTIFY:
            for v in a.value or []:  # type: ignore[union-attr]
                if v not in (rules.NOTIFY_ASSIGNEE, rules.NOTIFY_TEAM) and not await agents.is_live(
                    customer_id, v
                ):
                    raise _refused(InvalidRule(where, "notify names agents of this customer."))


def _checked(
    conditions: list[Condition], actions: list[Action]
) -> tuple[list[Condition], list[Action]]:
    try:
        return rules.check_all(conditions, actions)
    except InvalidRule as exc:
        raise _refused(exc) from None


async def _rule_event(principal: Principal, type: EventType, out: AutomationRuleOut) -> None:
    await record_event(
        principal.customer_id,
        type,
        out,
        [f"customer_id:{out.customer_id}:automation_rule:{out.id}"],
    )


# --- rules -------------------------------------------------------------------------------


async def create_rule(principal: Principal, data: AutomationRuleCreate) -> AutomationRuleOut:
    require_admin(principal)
    try:
        rules.check_trigger(data.trigger, data.trigger_minutes)
    except InvalidRule as exc:
        raise _refused(exc) from None
    conditions, actions = _checked(data.conditions, data.actions)
    enc = msgspec.json.encode
    async with transaction():
        await _check_ids(principal.customer_id, actions)
        if await store.count_rules(principal.customer_id) >= MAX_RULES:
            raise Conflict("too_many_rules", f"A customer has at most {MAX_RULES} rules.")
        row = await store.insert_rule(
            principal.customer_id,
            {
                "name": _name(data.name),
                "active": data.active,
                "trigger": data.trigger.value,
                "trigger_minutes": data.trigger_minutes,
                "match": data.match.value,
                "conditions": enc(conditions).decode(),
                "actions": enc(actions).decode(),
                "position": data.position,
                "stop_processing": data.stop_processing,
            },
            now(),
        )
        out = rule_out(row)
        await _rule_event(principal, EventType.AUTOMATION_RULE_CREATED, out)
        await audit.record(
            principal.customer_id,
            principal,
            "automation_rule.created",
            "automation_rule",
            row.id,
            None,
            out,
        )
    return out


async def _rule(principal: Principal, rule_id: str, *, lock: bool = False) -> RuleRow:
    rule_id = parse_id(rule_id, *_RULE_NOT_FOUND)
    return found(await store.rule(principal.customer_id, rule_id, lock=lock), *_RULE_NOT_FOUND)


async def get_rule(principal: Principal, rule_id: str) -> AutomationRuleOut:
    require_admin(principal)
    return rule_out(await _rule(principal, rule_id))


async def list_rules(
    principal: Principal, trigger: Trigger | None = None
) -> list[AutomationRuleOut]:
    """Every rule (of `trigger`, when given), in the order they run."""
    require_admin(principal)
    rows = await store.rules(principal.customer_id)
    return [rule_out(r) for r in rows if trigger is None or r.trigger == trigger]


async def update_rule(
    principal: Principal, rule_id: str, data: AutomationRuleUpdate
) -> AutomationRuleOut:
    require_admin(principal)
    async with transaction():
        row = await _rule(principal, rule_id, lock=True)
        before = rule_out(row)
        trigger = Trigger(row.trigger) if data.trigger is msgspec.UNSET else data.trigger
        minutes = (
            row.trigger_minutes if data.trigger_minutes is msgspec.UNSET else data.trigger_minutes
        )
        if data.trigger is not msgspec.UNSET and data.trigger_minutes is msgspec.UNSET:
            # a trigger of the other kind drops (or needs) the minutes
            minutes = minutes if trigger in rules.TIME_TRIGGERS else None
        try:
            rules.check_trigger(trigger, minutes)
        except InvalidRule as exc:
            raise _refused(exc) from None
        conditions = before.conditions if data.conditions is msgspec.UNSET else data.conditions
        actions = before.actions if data.actions is msgspec.UNSET else data.actions
        conditions, actions = _checked(conditions, actions)
        await _check_ids(principal.customer_id, actions)
        enc = msgspec.json.encode
        values: dict = {"trigger": trigger.value, "trigger_minutes": minutes}
        if data.name is not msgspec.UNSET:
            values["name"] = _name(data.name)
        if data.match is not msgspec.UNSET:
            values["match"] = data.match.value
        for field in ("active", "position", "stop_processing"):
            if (given := getattr(data, field)) is not msgspec.UNSET:
                values[field] = given
        values["conditions"] = enc(conditions).decode()
        values["actions"] = enc(actions).decode()
        row = await store.update_rule(row.id, values, now())
        out = rule_out(row)
        await _rule_event(principal, EventType.AUTOMATION_RULE_UPDATED, out)
        await audit.record(
            principal.customer_id,
            principal,
            "automation_rule.updated",
            "automation_rule",
            row.id,
            before,
            out,
        )
    return out


async def delete_rule(principal: Principal, rule_id: str) -> AutomationRuleOut:
    require_admin(principal)
    async with transaction():
        row = await _rule(principal, rule_id, lock=True)
        before = rule_out(row)
        out = rule_out(await store.delete_rule(row.id, now()))
        await _rule_event(principal, EventType.AUTOMATION_RULE_DELETED, out)
        await audit.record(
            principal.customer_id,
            principal,
            "automation_rule.deleted",
            "automation_rule",
            row.id,
            before,
            None,
        )
    return out


async def list_runs(
    principal: Principal, rule_id: str, page_size: int, page_token: str | None
) -> tuple[list[AutomationRunOut], str]:
    """The rule's executions, newest first."""
    require_admin(principal)
    row = await _rule(principal, rule_id)
    check_page_size(page_size)
    found_rows = await store.runs_page(row.id, parse_token(page_token), page_size)
    return [engine.run_out(r) for r in found_rows], store.token_of(found_rows, page_size)


async def preview(principal: Principal, rule_id: str, data: PreviewIn) -> PreviewOut:
    """The rule's conditions on the latest conversations as they are now, and what its
    actions would do where they match, changing nothing (it only reads). A message
    trigger's `text` is each room's last customer message."""
    require_admin(principal)
    row = await _rule(principal, rule_id)
    since = None
    if data.since is not None:
        try:
            since = parse(data.since)
        except ValueError:
            raise InvalidInput(
                "invalid_time",
                "since: a time like 2026-12-02 13:00:00.000000 (UTC) or ISO 8601.",
                fields=[{"field": "since", "message": "not a time"}],
            ) from None
    compiled = engine.compile_rule(row)
    words = await engine.names_for(principal.customer_id, compiled.actions)
    items: list[PreviewItem] = []
    at = now()
    for room_id in await store.recent_rooms(principal.customer_id, since, data.limit):
        room = await conversations.room_by_id(principal.customer_id, str(room_id))
        if room is None:
            continue
        text = (
            await store.last_inbound_text(room.id)
            if row.trigger == Trigger.MESSAGE_RECEIVED
            else None
        )
        facts = await engine.facts_of(
            room, text, contact=compiled.needs_contact, hours=compiled.needs_hours, at=at
        )
        ok, matched = rules.evaluate(row.match, compiled.conditions, facts)
        would = (
            [
                ActionResult(type=a.type, value=a.value, ok=True, said=rules.describe(a, words))
                for a in compiled.actions
            ]
            if ok
            else []
        )
        items.append(
            PreviewItem(
                conversation_id=str(room.id),
                name=room.name,
                matched=ok,
                conditions=matched,
                actions=would,
            )
        )
    return PreviewOut(
        rule_id=str(row.id),
        tried=len(items),
        matched=sum(1 for i in items if i.matched),
        result=items,
    )


# --- macros ------------------------------------------------------------------------------


def _visible_macro(principal: Principal, row: MacroRow | None) -> MacroRow:
    if row is not None and row.owner_id is not None and str(row.owner_id) != principal.agent_id:
        row = None
    return found(row, *_MACRO_NOT_FOUND)


async def _macro_event(type: EventType, out: MacroOut) -> None:
    audience = [out.owner_id] if out.owner_id else []
    await record_event(
        out.customer_id, type, out, [f"customer_id:{out.customer_id}:macro:{out.id}"], audience
    )


def _macro_actions(actions: list[Action]) -> list[Action]:
    return _checked([], actions)[1]


async def create_macro(principal: Principal, data: MacroCreate) -> MacroOut:
    actions = _macro_actions(data.actions)
    if data.owner_id is msgspec.UNSET:
        owner: str | None = principal.agent_id
    elif data.owner_id is None:
        require_admin(principal)
        owner = None
    elif data.owner_id.lower() == principal.agent_id:
        owner = principal.agent_id
    else:
        raise InvalidInput(
            "invalid_owner",
            "owner_id is your own id (a personal macro) or null (a shared one, admins only).",
            fields=[{"field": "owner_id", "message": "must be your own id or null"}],
        )
    async with transaction():
        await _check_ids(principal.customer_id, actions, owner)
        row = await store.insert_macro(
            principal.customer_id,
            owner,
            _name(data.name),
            msgspec.json.encode(actions).decode(),
            now(),
        )
        out = macro_out(row)
        await _macro_event(EventType.MACRO_CREATED, out)
        if owner is None:
            await audit.record(
                principal.customer_id, principal, "macro.created", "macro", row.id, None, out
            )
    return out


async def get_macro(principal: Principal, macro_id: str) -> MacroOut:
    macro_id = parse_id(macro_id, *_MACRO_NOT_FOUND)
    return macro_out(_visible_macro(principal, await store.macro(principal.customer_id, macro_id)))


async def list_macros(
    principal: Principal, page_size: int, page_token: str | None
) -> tuple[list[MacroOut], str]:
    """Your own macros and the shared ones, newest first."""
    check_page_size(page_size)
    rows = await store.macros_page(
        principal.customer_id, principal.agent_id, parse_token(page_token), page_size
    )
    return [macro_out(r) for r in rows], store.token_of(rows, page_size)


async def _changeable_macro(principal: Principal, macro_id: str) -> MacroRow:
    macro_id = parse_id(macro_id, *_MACRO_NOT_FOUND)
    row = _visible_macro(principal, await store.macro(principal.customer_id, macro_id, lock=True))
    if row.owner_id is None:
        require_admin(principal)
    return row


async def update_macro(principal: Principal, macro_id: str, data: MacroUpdate) -> MacroOut:
    async with transaction():
        row = await _changeable_macro(principal, macro_id)
        before = macro_out(row)
        values: dict = {}
        if data.name is not msgspec.UNSET:
            values["name"] = _name(data.name)
        if data.actions is not msgspec.UNSET:
            actions = _macro_actions(data.actions)
            owner = str(row.owner_id) if row.owner_id else None
            await _check_ids(principal.customer_id, actions, owner)
            values["actions"] = msgspec.json.encode(actions).decode()
        out = macro_out(await store.update_macro(row.id, values, now()))
        await _macro_event(EventType.MACRO_UPDATED, out)
        if row.owner_id is None:
            await audit.record(
                principal.customer_id, principal, "macro.updated", "macro", row.id, before, out
            )
    return out


async def delete_macro(principal: Principal, macro_id: str) -> MacroOut:
    async with transaction():
        row = await _changeable_macro(principal, macro_id)
        before = macro_out(row)
        out = macro_out(await store.delete_macro(row.id, now()))
        await _macro_event(EventType.MACRO_DELETED, out)
        if row.owner_id is None:
            await audit.record(
                principal.customer_id, principal, "macro.deleted", "macro", row.id, before, None
            )
    return out


async def run_macro(principal: Principal, conversation_id: str, macro_id: str) -> MacroRunOut:
    """Apply a macro to a room as `principal`: each action as if the agent took it (its
    permission: an agent's macro cannot assign the room to someone else), each in its own
    savepoint; the run is recorded and explained in the room."""
    async with transaction():
        run = await run_macro_locked(principal, conversation_id, macro_id)
        room = await conversations.get_conversation(principal, conversation_id)
    return MacroRunOut(run=run, conversation=room)


async def run_macro_locked(
    principal: Principal, conversation_id: str, macro_id: str
) -> AutomationRunOut:
    """`run_macro` inside the caller's transaction (one room of a bulk action)."""
    macro_id = parse_id(macro_id, *_MACRO_NOT_FOUND)
    macro = _visible_macro(principal, await store.macro(principal.customer_id, macro_id))
    room = await conversations.get_room(principal, conversation_id, lock=True)
    actions = msgspec.json.decode(macro.actions, type=list[Action])
    actor = await agents.display_name(principal)
    done = await engine.act(principal, room, actions, f"Macro '{macro.name}'")
    return await engine.record_run(
        room,
        rule_id=None,
        macro_id=macro.id,
        agent_id=None if principal.via == "accesskey" else principal.agent_id,
        trigger="macro",
        depth=0,
        matched=[],
        done=done,
        event=EventType.MACRO_EXECUTED,
        line_by=f"{actor} applied macro '{macro.name}':",
        actor=audit.actor_of(principal),
    )

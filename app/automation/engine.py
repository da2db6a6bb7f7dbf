"""Running rules: on the events of a service transaction, just before they are written
(`core.events.before_commit`), and for the time triggers, from the worker (`timers`).

For each event that is a trigger (a room created, a customer's message, an agent's or the
system's message, a room changed, a snooze ended, an SLA warning or breach), the
customer's active rules of that trigger run in `position` order against the room as it is
at that point of the transaction. A rule that matches runs its actions inside a savepoint,
each action inside its own: a failing action is undone alone and recorded as failed, and
nothing a rule does can undo the change that triggered it (the customer's message is
stored whatever the rules do). `stop_processing` ends the chain for that change.

Loops: the events a rule's actions record are appended to the same transaction's list and
may trigger rules in turn, one level deeper; at `MAX_DEPTH` rules stop running, and the
room says so once. A room changed twice in one transaction triggers a trigger's rules
once per depth.

Cost: a process keeps each customer's rules, decoded, and rereads them only when their
digest (`store.rules_version`, one small query per transaction) changed; a rule is first
tried for its verdict alone, and its conditions' results are built only when it matches
(docs/PERFORMANCE.md, "Automation").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from app.audit import log as audit
from app.automation import store
from app.automation.actions import WRITES_ITS_OWN_LINE, apply, automaton
from app.automation.store import RuleRow, RunRow
from app.business_hours import service as business_hours
from app.conversations import activities
from app.conversations import store as rooms
from app.conversations.store import RoomRow
from app.core import events
from app.core.events import Pending, record_event, savepoint
from app.domain import automation as rules
from app.domain import business_time
from app.domain.automation import (
    MAX_DEPTH,
    Action,
    ActionResult,
    AutomationRunOut,
    Condition,
    ConditionResult,
    Facts,
    Trigger,
)
from app.domain.enums import EventType
from app.domain.errors import ServiceError
from app.domain.principal import Principal, room_audience
from app.domain.timefmt import fmt, now
from app.domain.topics import conversation_topic
from app.people import agents

log = logging.getLogger(__name__)
T = TypeVar("T")

_ROOM_TRIGGERS = {
    EventType.CONVERSATION_CREATED: Trigger.CONVERSATION_CREATED,
    EventType.CONVERSATION_UPDATED: Trigger.CONVERSATION_UPDATED,
    EventType.CONVERSATION_CLOSED: Trigger.CONVERSATION_UPDATED,
    EventType.CONVERSATION_ASSIGNED: Trigger.CONVERSATION_UPDATED,
    EventType.CONVERSATION_WOKE: Trigger.SNOOZE_WOKE,
}
_MESSAGE_EVENTS = frozenset(
    {EventType.CONVERSATION_MESSAGE_RECEIVED, EventType.CONVERSATION_MESSAGE_CREATED}
)
_SLA_TRIGGERS = {
    EventType.CONVERSATION_SLA_WARNING: Trigger.SLA_WARNING,
    EventType.CONVERSATION_SLA_BREACHED: Trigger.SLA_BREACHED,
}
_EVENT_TRIGGERS = [t.value for t in Trigger if t not in rules.TIME_TRIGGERS]
_WATCHED = frozenset({*_ROOM_TRIGGERS, *_MESSAGE_EVENTS, *_SLA_TRIGGERS})


class _Seen(msgspec.Struct):
    """The parts of an event's resource the triggers need (a room, a message, a clock)."""

    id: str | None = None
    conversation_id: str | None = None
    direction: str | None = None
    text: str | None = None


_decode_seen = msgspec.json.Decoder(_Seen).decode


def _trigger_of(event: Pending) -> tuple[Trigger, str, str | None] | None:
    """(trigger, room id, the message's text) of an event, or None."""
    kind = event.type
    if kind not in _WATCHED:
        return None
    seen = _decode_seen(event.payload)
    if kind in _ROOM_TRIGGERS:
        return _ROOM_TRIGGERS[EventType(kind)], str(seen.id), None
    if kind in _SLA_TRIGGERS:
        return _SLA_TRIGGERS[EventType(kind)], str(seen.conversation_id), None
    if kind == EventType.CONVERSATION_MESSAGE_RECEIVED:
        return Trigger.MESSAGE_RECEIVED, str(seen.conversation_id), seen.text or ""
    if seen.direction == "outbound":  # conversation_message_created of a reply
        return Trigger.MESSAGE_SENT, str(seen.conversation_id), seen.text or ""
    return None  # an inbound message's created: its `received` is the trigger


class Compiled(msgspec.Struct, frozen=True):
    row: RuleRow
    conditions: list[Condition]
    actions: list[Action]

    @property
    def needs_contact(self) -> bool:
        return any(
            c.field in (rules.Field.CONTACT_ADDRESS, rules.Field.CONTACT_TAG)
            or c.field.startswith(rules.ATTRIBUTE_PREFIX)
            for c in self.conditions
        )

    @property
    def needs_hours(self) -> bool:
        return any(c.field == rules.Field.BUSINESS_HOURS for c in self.conditions)


_conditions = msgspec.json.Decoder(list[Condition]).decode
_actions = msgspec.json.Decoder(list[Action]).decode
_compiled: dict[tuple[uuid.UUID, datetime], Compiled] = {}


def compile_rule(row: RuleRow) -> Compiled:
    """A rule's stored conditions and actions, decoded once per version (`tm_update`)."""
    key = (row.id, row.tm_update)
    found = _compiled.get(key)
    if found is None:
        if len(_compiled) > 10_000:
            _compiled.clear()
        found = _compiled[key] = Compiled(row, _conditions(row.conditions), _actions(row.actions))
    return found


# --- a room's facts ----------------------------------------------------------------------


async def facts_of(
    room: RoomRow, text: str | None, *, contact: bool, hours: bool, at: datetime
) -> Facts:
    """What conditions look at; the contact's and the calendar's only when a rule asks."""
    found = await store.contact_facts(room.id) if contact else None
    open_now = None
    if hours:
        calendar = await business_hours.calendar_for_room(None, str(room.customer_id), room.team_id)
        open_now = None if calendar is None else business_time.is_open(calendar, at)
    return Facts(
        channel=room.reference_type,
        account_id=str(room.account_id) if room.account_id else None,
        team_id=str(room.team_id) if room.team_id else None,
        assignee_id=str(room.owner_id) if room.owner_id else None,
        status=room.status,
        priority=room.priority,
        tags=list(room.tags or []),
        text=text if text is not None else room.last_message,
        contact_addresses=found.addresses if found else [],
        contact_tags=found.tags if found else [],
        attributes=found.attributes if found else {},
        open_now=open_now,
    )


# --- runs --------------------------------------------------------------------------------


def run_out(row: RunRow) -> AutomationRunOut:
    return AutomationRunOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        rule_id=str(row.rule_id) if row.rule_id else None,
        macro_id=str(row.macro_id) if row.macro_id else None,
        agent_id=str(row.agent_id) if row.agent_id else None,
        conversation_id=str(row.conversation_id),
        trigger=row.trigger,
        depth=row.depth,
        status=row.status,
        conditions=msgspec.json.decode(row.conditions, type=list[ConditionResult]),
        actions=msgspec.json.decode(row.actions, type=list[ActionResult]),
        tm_create=fmt(row.tm_create),
    )


async def names_for(customer_id: str, actions: list[Action]) -> dict[str, str]:
    """Names for the ids actions carry (agents, teams, canned replies), for their words."""
    ids = [str(a.value) for a in actions if isinstance(a.value, str)]
    ids += [v for a in actions if isinstance(a.value, list) for v in a.value]
    ids = [i for i in ids if _uuid(i)]
    if not ids:  # tags, a priority, `assignee`: nothing to look up
        return {}
    found = await agents.names(customer_id, ids)
    rows = await store.names_of(customer_id, ids)
    return {**rows, **found}


def _uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


async def act(
    principal: Principal, room: RoomRow, actions: list[Action], rule: str
) -> list[ActionResult]:
    """Take the actions in order, each in a savepoint; what each did or why it could not."""
    words = await names_for(principal.customer_id, actions)
    done: list[ActionResult] = []
    for action in actions:
        said = rules.describe(action, words)
        try:
            async with savepoint():
                await apply(principal, str(room.id), action, rule)
        except ServiceError as exc:
            done.append(_failed(action, said, f"{exc.reason}: {exc.message}"))
        except Exception as exc:  # noqa: BLE001 - one action's fault never undoes the change
            log.exception("automation: %s failed in room %s", action.type, room.id)
            done.append(_failed(action, said, f"internal_error: {type(exc).__name__}"))
        else:
            done.append(ActionResult(type=action.type, value=action.value, ok=True, said=said))
    return done


def _failed(action: Action, said: str, error: str) -> ActionResult:
    return ActionResult(type=action.type, value=action.value, ok=False, said=said, error=error)


def status_of(done: list[ActionResult]) -> str:
    ok = sum(1 for a in done if a.ok)
    return "done" if ok == len(done) else "failed" if ok == 0 else "partial"


async def record_run(
    room: RoomRow,
    *,
    rule_id: Any,
    macro_id: Any,
    agent_id: Any,
    trigger: str,
    depth: int,
    matched: list[ConditionResult],
    done: list[ActionResult],
    event: EventType,
    line_by: str,
    actor: audit.Actor = audit.SYSTEM,
    after: RoomRow | None = None,
) -> AutomationRunOut:
    """The run's row, its event, its audit entry and the room's line explaining it
    ("Rule 'VIP customers' set priority urgent"). The line leaves out what the services
    already wrote a line for (a close, an assignment, a note). `after`: the room as the
    actions left it, when the caller has read it already."""
    enc = msgspec.json.encode
    row = await store.insert_run(
        str(room.customer_id),
        rule_id=rule_id,
        macro_id=macro_id,
        agent_id=agent_id,
        conversation_id=room.id,
        trigger=trigger,
        depth=depth,
        status=status_of(done),
        conditions=enc(matched).decode(),
        actions=enc(done).decode(),
        at=now(),
    )
    out = run_out(row)
    said = [a.said for a in done if a.ok and a.type not in WRITES_ITS_OWN_LINE]
    said += [
        f"could not {rules.undone(a.said)} ({(a.error or '').partition(': ')[2]})"
        for a in done
        if not a.ok
    ]
    current = after or await rooms.room_of_customer(str(room.customer_id), str(room.id)) or room
    if said:
        await activities.record(current, activities.SYSTEM, f"{line_by} {', '.join(said)}")
    await record_event(
        out.customer_id,
        event,
        out,
        [conversation_topic(out.customer_id, out.conversation_id)],
        room_audience(current.owner_id),
    )
    await audit.record(
        out.customer_id,
        actor,
        "automation_rule.executed" if rule_id else "macro.executed",
        "conversation",
        room.id,
        None,
        {
            "run_id": out.id,
            "rule_id": out.rule_id,
            "macro_id": out.macro_id,
            "status": out.status,
            "actions": [a.said for a in done if a.ok],
        },
    )
    return out


# --- firing a rule -----------------------------------------------------------------------


async def fire(
    rule: Compiled, room: RoomRow, trigger: str, depth: int, text: str | None, facts: Facts
) -> RoomRow | None:
    """Evaluate the rule on the room and, when it matches, act and record the run (inside
    a savepoint: the rule's work is undone as a whole if recording it fails). The room as
    the actions left it; None when the rule did not match."""
    row = rule.row
    if not rules.matches(row.match, rule.conditions, facts):
        return None
    _, matched = rules.evaluate(row.match, rule.conditions, facts)
    principal = automaton(str(row.customer_id), row.name)
    with events.at_depth(depth + 1):
        async with savepoint():
            done = await act(principal, room, rule.actions, row.name)
            after = await rooms.room_of_customer(str(room.customer_id), str(room.id)) or room
            await record_run(
                room,
                rule_id=row.id,
                macro_id=None,
                agent_id=None,
                trigger=trigger,
                depth=depth,
                matched=matched,
                done=done,
                event=EventType.AUTOMATION_RULE_EXECUTED,
                line_by=principal.username,
                after=after,
            )
    return after


async def run_chain(
    chain: list[Compiled], room: RoomRow, trigger: str, depth: int, text: str | None
) -> int:
    """Run a trigger's rules on one room in order; how many matched."""
    at = now()
    contact = any(r.needs_contact for r in chain)
    hours = any(r.needs_hours for r in chain)
    facts = await facts_of(room, text, contact=contact, hours=hours, at=at)
    matched = 0
    for rule in chain:
        if not rules.matches(rule.row.match, rule.conditions, facts):
            continue  # most rules do not match most changes: not even a coroutine for them
        try:
            after = await fire(rule, room, trigger, depth, text, facts)
        except Exception:  # noqa: BLE001 - its savepoint undid it; the change stands
            log.exception("automation: rule %s failed in room %s", rule.row.id, room.id)
            continue
        if after is not None:
            matched += 1
            if rule.row.stop_processing or after.tm_delete is not None:
                break
            # the next rule sees the room as the actions left it
            room = after
            facts = await facts_of(room, text, contact=contact, hours=hours, at=at)
    return matched


# --- the event hook ----------------------------------------------------------------------


async def on_events(pending: list[Pending]) -> None:
    """core.events' before-commit hook: the rules the transaction's events trigger."""
    if not any(e.type in _WATCHED for e in pending):
        return  # most transactions: no trigger at all, no query
    loaded: dict[str, dict[str, list[Compiled]]] = {}
    done: set[tuple[str, str, int]] = set()
    stopped: set[str] = set()
    i = 0
    while i < len(pending):
        event = pending[i]
        i += 1
        found = _trigger_of(event)
        if found is None:
            continue
        trigger, room_id, text = found
        key = (trigger.value, room_id, event.depth)
        if key in done:
            continue
        done.add(key)
        customer_id = event.customer_id
        if customer_id not in loaded:
            loaded[customer_id] = await _safely(_chains(customer_id)) or {}
        chain = loaded[customer_id].get(trigger.value)
        if not chain:
            continue
        room = await rooms.room_of_customer(customer_id, room_id)
        if room is None or room.tm_delete is not None:
            continue
        if event.depth >= MAX_DEPTH:
            if room_id not in stopped:
                stopped.add(room_id)
                log.warning(
                    "automation: rules stopped at depth %d in room %s", event.depth, room_id
                )
                await activities.record(
                    room,
                    activities.SYSTEM,
                    f"Automation stopped: rules triggered each other {MAX_DEPTH} times in a row",
                )
            continue
        await _safely(run_chain(chain, room, trigger.value, event.depth, text))


async def _safely(work: Coroutine[Any, Any, T]) -> T | None:
    """`work` in a savepoint: if it fails (a bug, a database error), its writes and events
    are undone and the change that triggered the rules still commits — rules never cost
    a customer's message."""
    try:
        async with savepoint():
            return await work
    except Exception:  # noqa: BLE001
        log.exception("automation: rules could not run")
        return None


_chains_of: dict[str, tuple[str, dict[str, list[Compiled]]]] = {}
"""A customer's rules by event trigger, with the digest (`store.rules_version`) they were
read at: every change of a rule changes the digest, in whichever process it was made."""


async def _chains(customer_id: str) -> dict[str, list[Compiled]]:
    """The customer's active rules by event trigger, in the order they run. One small
    query when they have not changed since this process last read them (a message into
    a customer with a hundred rules would otherwise read and decode them all)."""
    version = await store.rules_version(customer_id, _EVENT_TRIGGERS)
    if version is None:
        return {}
    cached = _chains_of.get(customer_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    chains: dict[str, list[Compiled]] = {}
    for row in await store.active_rules(customer_id, _EVENT_TRIGGERS):
        chains.setdefault(row.trigger, []).append(compile_rule(row))
    if len(_chains_of) > 10_000:
        _chains_of.clear()
    # read after the digest: at worst newer than it, and then the next digest differs
    _chains_of[customer_id] = (version, chains)
    return chains


def install() -> None:
    """Run rules in every service transaction from now on (the web app and the worker
    process call it at start; idempotent)."""
    events.before_commit(on_events)

"""Automation's SQL, as typed rows: rules, macros, runs and the time triggers' timers.
Plain SQL throughout: every change that may trigger rules asks whether the customer's
rules changed (`rules_version`), and the time worker scans many rooms at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from app.conversations.store import RoomRow
from app.db import sql
from app.domain.timefmt import fmt


class RuleRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    active: bool
    trigger: str
    trigger_minutes: int | None
    match: str
    conditions: str
    """JSON: `[{field, operator, value}]`, as checked by domain.automation."""
    actions: str
    position: int
    stop_processing: bool
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class MacroRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    name: str
    actions: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class RunRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    rule_id: uuid.UUID | None
    macro_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    conversation_id: uuid.UUID
    trigger: str
    depth: int
    status: str
    conditions: str
    actions: str
    tm_create: datetime


_RULE = ", ".join(RuleRow.__struct_fields__)
_ROOM_OF_C = ", ".join(f"c.{name}" for name in RoomRow.__struct_fields__)
_MACRO = ", ".join(MacroRow.__struct_fields__)
_RUN = ", ".join(RunRow.__struct_fields__)
# jsonb read as text: the service decodes it into the domain's Structs
_RULE_SELECT = _RULE.replace("conditions", "conditions::text AS conditions").replace(
    "actions", "actions::text AS actions"
)
_MACRO_SELECT = _MACRO.replace("actions", "actions::text AS actions")
_RUN_SELECT = _RUN.replace("conditions", "conditions::text AS conditions").replace(
    "actions", "actions::text AS actions"
)


# --- rules -------------------------------------------------------------------------------


async def insert_rule(customer_id: str, values: dict[str, Any], at: datetime) -> RuleRow:
    found = await sql.returned(
        RuleRow,
        f"INSERT INTO automation_rules (id, customer_id, name, active, trigger, trigger_minutes,"
        f" match, conditions, actions, position, stop_processing, tm_create, tm_update)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb,"
        f" coalesce($10, (SELECT coalesce(max(position), 0) + 1 FROM automation_rules"
        f"  WHERE customer_id = $2 AND tm_delete IS NULL)), $11, $12, $12)"
        f" RETURNING {_RULE_SELECT}",
        uuid.uuid4(),
        customer_id,
        values["name"],
        values["active"],
        values["trigger"],
        values["trigger_minutes"],
        values["match"],
        values["conditions"],
        values["actions"],
        values["position"],
        values["stop_processing"],
        at,
    )
    return found


async def count_rules(customer_id: str) -> int:
    return await sql.fetchval(
        "SELECT count(*) FROM automation_rules WHERE customer_id = $1 AND tm_delete IS NULL",
        customer_id,
    )


async def rule(customer_id: str, rule_id: str, *, lock: bool = False) -> RuleRow | None:
    return await sql.fetchrow_as(
        RuleRow,
        f"SELECT {_RULE_SELECT} FROM automation_rules WHERE id = $1::uuid AND customer_id = $2"
        f" AND tm_delete IS NULL{' FOR UPDATE' if lock else ''}",
        rule_id,
        customer_id,
    )


async def rules(customer_id: str) -> list[RuleRow]:
    """Every live rule, in the order they run."""
    return await sql.fetch_as(
        RuleRow,
        f"SELECT {_RULE_SELECT} FROM automation_rules WHERE customer_id = $1"
        f" AND tm_delete IS NULL ORDER BY position, tm_create",
        customer_id,
    )


async def active_rules(customer_id: str, triggers: list[str]) -> list[RuleRow]:
    """The active rules of these triggers, in the order they run (automation_rules_live)."""
    return await sql.fetch_as(
        RuleRow,
        f"SELECT {_RULE_SELECT} FROM automation_rules WHERE customer_id = $1"
        f" AND trigger = ANY($2::text[]) AND active AND tm_delete IS NULL"
        f" ORDER BY position, tm_create",
        customer_id,
        triggers,
    )


async def rules_version(customer_id: str, triggers: list[str]) -> str | None:
    """A digest of `active_rules`: which rules, in their order, each at its version
    (`tm_update`, which every change of a rule moves). The same digest, the same rules:
    the event path asks for it in every transaction that may trigger rules, and reads
    the rules themselves only when it changed. None when there is no such rule."""
    return await sql.fetchval(
        "SELECT md5(string_agg(id::text || '@' || tm_update::text, ','"
        " ORDER BY position, tm_create, id)) FROM automation_rules WHERE customer_id = $1"
        " AND trigger = ANY($2::text[]) AND active AND tm_delete IS NULL",
        customer_id,
        triggers,
    )


async def time_rules() -> list[RuleRow]:
    """Every customer's active time rules (the worker's round)."""
    return await sql.fetch_as(
        RuleRow,
        f"SELECT {_RULE_SELECT} FROM automation_rules"
        f" WHERE trigger IN ('no_agent_reply', 'waiting_on_customer')"
        f" AND active AND tm_delete IS NULL ORDER BY customer_id, position, tm_create",
    )


def _sets(values: dict[str, Any]) -> str:
    """`, name = $3, …` for an update's columns after `id` ($1) and `tm_update` ($2); the
    JSON ones arrive as text."""
    return "".join(
        f", {name} = ${i}{'::jsonb' if name in ('conditions', 'actions') else ''}"
        for i, name in enumerate(values, start=3)
    )


async def update_rule(rule_id: uuid.UUID, values: dict[str, Any], at: datetime) -> RuleRow:
    return await sql.returned(
        RuleRow,
        f"UPDATE automation_rules SET tm_update = $2{_sets(values)}"
        f" WHERE id = $1 RETURNING {_RULE_SELECT}",
        rule_id,
        at,
        *values.values(),
    )


async def delete_rule(rule_id: uuid.UUID, at: datetime) -> RuleRow:
    return await sql.returned(
        RuleRow,
        f"UPDATE automation_rules SET tm_delete = $2, tm_update = $2, active = false"
        f" WHERE id = $1 RETURNING {_RULE_SELECT}",
        rule_id,
        at,
    )


# --- macros ------------------------------------------------------------------------------


async def insert_macro(
    customer_id: str, owner_id: str | None, name: str, actions: str, at: datetime
) -> MacroRow:
    return await sql.returned(
        MacroRow,
        f"INSERT INTO macros (id, customer_id, owner_id, name, actions, tm_create, tm_update)"
        f" VALUES ($1, $2, $3, $4, $5::jsonb, $6, $6) RETURNING {_MACRO_SELECT}",
        uuid.uuid4(),
        customer_id,
        owner_id,
        name,
        actions,
        at,
    )


async def macro(customer_id: str, macro_id: str, *, lock: bool = False) -> MacroRow | None:
    return await sql.fetchrow_as(
        MacroRow,
        f"SELECT {_MACRO_SELECT} FROM macros WHERE id = $1::uuid AND customer_id = $2"
        f" AND tm_delete IS NULL{' FOR UPDATE' if lock else ''}",
        macro_id,
        customer_id,
    )


async def macros_page(
    customer_id: str, agent_id: str, before: datetime | None, limit: int
) -> list[MacroRow]:
    """The shared macros and `agent_id`'s own, newest first, `limit` of them created before
    `before` (keyset)."""
    return await sql.fetch_as(
        MacroRow,
        f"SELECT {_MACRO_SELECT} FROM macros WHERE customer_id = $1 AND tm_delete IS NULL"
        f" AND (owner_id IS NULL OR owner_id = $2::uuid)"
        f" AND ($3::timestamptz IS NULL OR tm_create < $3) ORDER BY tm_create DESC, id DESC"
        f" LIMIT $4",
        customer_id,
        agent_id,
        before,
        limit,
    )


async def update_macro(macro_id: uuid.UUID, values: dict[str, Any], at: datetime) -> MacroRow:
    return await sql.returned(
        MacroRow,
        f"UPDATE macros SET tm_update = $2{_sets(values)} WHERE id = $1 RETURNING {_MACRO_SELECT}",
        macro_id,
        at,
        *values.values(),
    )


async def delete_macro(macro_id: uuid.UUID, at: datetime) -> MacroRow:
    return await sql.returned(
        MacroRow,
        f"UPDATE macros SET tm_delete = $2, tm_update = $2 WHERE id = $1 RETURNING {_MACRO_SELECT}",
        macro_id,
        at,
    )


# --- runs --------------------------------------------------------------------------------


async def insert_run(
    customer_id: str,
    *,
    rule_id: Any,
    macro_id: Any,
    agent_id: Any,
    conversation_id: Any,
    trigger: str,
    depth: int,
    status: str,
    conditions: str,
    actions: str,
    at: datetime,
) -> RunRow:
    return await sql.returned(
        RunRow,
        f"INSERT INTO automation_runs (id, customer_id, rule_id, macro_id, agent_id,"
        f" conversation_id, trigger, depth, status, conditions, actions, tm_create)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12)"
        f" RETURNING {_RUN_SELECT}",
        uuid.uuid4(),
        customer_id,
        rule_id,
        macro_id,
        agent_id,
        conversation_id,
        trigger,
        depth,
        status,
        conditions,
        actions,
        at,
    )


async def runs_page(rule_id: uuid.UUID, before: datetime | None, limit: int) -> list[RunRow]:
    return await sql.fetch_as(
        RunRow,
        f"SELECT {_RUN_SELECT} FROM automation_runs WHERE rule_id = $1"
        f" AND ($2::timestamptz IS NULL OR tm_create < $2) ORDER BY tm_create DESC, id DESC"
        f" LIMIT $3",
        rule_id,
        before,
        limit,
    )


def token_of(rows: list[Any], limit: int) -> str:
    """The next page's token: the last row's time when the page is full."""
    return fmt(rows[-1].tm_create) if len(rows) == limit else ""


# --- the time triggers -------------------------------------------------------------------


async def lock_waiting_rooms(
    customer_id: uuid.UUID,
    rule_id: uuid.UUID,
    turn: str,
    started_before: datetime,
    now: datetime,
    limit: int,
) -> list[RoomRow]:
    """Open, awake rooms of the customer whose turn `turn` began (`tm_turn`) before
    `started_before`, that this rule has not fired for in that turn and is not waiting out
    (a timer due later), locked (those another worker holds are skipped), as they are."""
    return await sql.fetch_as(
        RoomRow,
        f"SELECT {_ROOM_OF_C} FROM conversations c"
        " WHERE c.customer_id = $1 AND c.sla_turn = $3 AND c.tm_turn <= $4"
        " AND c.tm_delete IS NULL AND c.status <> 'closed' AND c.tm_snoozed IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM automation_timers t WHERE t.rule_id = $2"
        "  AND t.conversation_id = c.id AND t.anchor = c.tm_turn"
        "  AND (t.fired_at IS NOT NULL OR t.due_at > $5))"
        " ORDER BY c.tm_turn LIMIT $6 FOR NO KEY UPDATE OF c SKIP LOCKED",
        customer_id,
        rule_id,
        turn,
        started_before,
        now,
        limit,
    )


_EARLIER = (
    "WITH earlier AS (DELETE FROM automation_timers WHERE rule_id = $1 AND conversation_id = $2"
    " AND anchor < $3)"
)
"""A rule's rows of a room's earlier turns are done with once a later turn has one: a room
keeps at most one row per rule and turn it has not left yet, so the table stays the size
of the rooms the time rules are watching, not of their history."""


async def wait_until(
    rule_id: uuid.UUID, room_id: uuid.UUID, anchor: datetime, due: datetime
) -> None:
    """The room's turn is not due yet in business time: look again at `due`. (The rule's
    rows of the room's earlier turns go: `_EARLIER`.)"""
    await sql.execute(
        f"{_EARLIER} INSERT INTO automation_timers (rule_id, conversation_id, anchor, due_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (rule_id, conversation_id, anchor)"
        " DO UPDATE SET due_at = excluded.due_at WHERE automation_timers.fired_at IS NULL",
        rule_id,
        room_id,
        anchor,
        due,
    )


async def claim_firing(
    rule_id: uuid.UUID, room_id: uuid.UUID, anchor: datetime, due: datetime, at: datetime
) -> bool:
    """Mark the rule fired for the room's turn; False when it already had (another
    worker, or this one before a restart). The caller runs the actions in the same
    transaction, so the mark exists exactly when they were done."""
    fired = await sql.fetchval(
        f"{_EARLIER} INSERT INTO automation_timers"
        " (rule_id, conversation_id, anchor, due_at, fired_at)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (rule_id, conversation_id, anchor)"
        " DO UPDATE SET fired_at = excluded.fired_at WHERE automation_timers.fired_at IS NULL"
        " RETURNING true",
        rule_id,
        room_id,
        anchor,
        due,
        at,
    )
    return bool(fired)


# --- a room's facts ----------------------------------------------------------------------


class ContactFacts(msgspec.Struct, frozen=True, kw_only=True):
    addresses: list[str]
    tags: list[str]
    attributes: dict[str, Any]


async def contact_facts(room_id: uuid.UUID) -> ContactFacts:
    """The addresses, tag names and attributes of the room's customers' contacts (every
    live participant's contact; attributes of several contacts merge, the earliest
    joined first)."""
    rows = await sql.fetch(
        "SELECT c.attributes::text AS attributes,"
        " array(SELECT a.target FROM contact_addresses a WHERE a.contact_id = c.id) AS addresses,"
        " array(SELECT t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id"
        "  WHERE ct.contact_id = c.id AND t.tm_delete IS NULL) AS tags"
        " FROM (SELECT DISTINCT ON (p.contact_id) p.contact_id, p.tm_create FROM participants p"
        "  WHERE p.conversation_id = $1 AND p.tm_delete IS NULL AND p.contact_id IS NOT NULL"
        "  ORDER BY p.contact_id, p.tm_create) AS p"
        " JOIN contacts c ON c.id = p.contact_id AND c.tm_delete IS NULL ORDER BY p.tm_create",
        room_id,
    )
    addresses: list[str] = []
    tags: list[str] = []
    attributes: dict[str, Any] = {}
    for r in reversed(rows):
        attributes |= msgspec.json.decode(r["attributes"])
    for r in rows:
        addresses += r["addresses"]
        tags += r["tags"]
    return ContactFacts(addresses=addresses, tags=list(dict.fromkeys(tags)), attributes=attributes)


async def recent_rooms(customer_id: str, since: datetime | None, limit: int) -> list[uuid.UUID]:
    """The customer's latest rooms (a preview's sample), newest first."""
    rows = await sql.fetch(
        "SELECT id FROM conversations WHERE customer_id = $1 AND tm_delete IS NULL"
        " AND ($2::timestamptz IS NULL OR tm_create >= $2) ORDER BY tm_create DESC LIMIT $3",
        customer_id,
        since,
        limit,
    )
    return [r["id"] for r in rows]


async def last_inbound_text(room_id: uuid.UUID) -> str | None:
    """The customer's last message in the room (a preview's "the message")."""
    return await sql.fetchval(
        "SELECT text FROM messages WHERE conversation_id = $1 AND direction = 'inbound'"
        " ORDER BY tm_create DESC LIMIT 1",
        room_id,
    )


async def names_of(customer_id: str, ids: list[str]) -> dict[str, str]:
    """Names of the customer's teams and canned replies among `ids` (an action's words)."""
    rows = await sql.fetch(
        "SELECT id::text, name FROM teams WHERE customer_id = $1 AND id = ANY($2::uuid[])"
        " UNION ALL SELECT id::text, coalesce(nullif(name, ''), '/' || shortcut)"
        " FROM canned_responses WHERE customer_id = $1 AND id = ANY($2::uuid[])",
        customer_id,
        ids,
    )
    return {r[0]: r[1] for r in rows}

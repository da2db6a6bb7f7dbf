"""Rooms as stored: conversations, their participants, the timeline's activities and the
agents' read marks. Every query on those tables lives here and returns Structs.

The query builder by default. Plain SQL on asyncpg (app/db/sql.py) where a message
arrives or is sent (the room an address belongs to, the room's activity, the live
participants a reply is routed to), where the desk reads per event (the room as it is
now), and where the builder cannot say it (unread counts over `unnest`);
docs/ARCHITECTURE.md, "Raw SQL, and why", lists them with their reasons.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.combination import WhereRaw
from piccolo.query import OrderByRaw
from piccolo.query.functions.aggregate import Count

from app.core.pagination import check_page_size, keyset_page
from app.db import sql
from app.db.tables import Activity, Conversation, Participant, ReadMark
from app.domain.enums import PRIORITY_RANK
from app.domain.errors import BadRequest
from app.domain.participants import NO_NAME
from app.domain.timefmt import fmt, parse
from app.reports.facts import NOBODY, slot_of

Id = uuid.UUID | str
"""An id as a row holds it or as a request gave it: asyncpg takes either."""


class RoomRow(msgspec.Struct, frozen=True, kw_only=True):
    """A `conversations` row."""

    id: uuid.UUID
    customer_id: uuid.UUID
    account_id: uuid.UUID | None
    name: str
    detail: str
    status: str
    reference_type: str
    reference_id: str
    owner_type: str
    owner_id: uuid.UUID | None
    tags: list[str]
    team_id: uuid.UUID | None
    priority: str
    assignment_reason: str
    tm_queued: datetime | None
    """Waiting in its team's queue since; null unless waiting."""
    tm_assigned: datetime | None
    reassigned_from: uuid.UUID | None
    """Routing does not give the room back to this agent (it did not answer, or let it
    go)."""
    last_message: str | None
    tm_last_message: datetime | None
    tm_activity: datetime
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None
    # snooze and merge
    tm_snoozed: datetime | None = None
    """Snoozed since; null unless snoozed."""
    snoozed_until: datetime | None = None
    snooze_until_reply: bool = False
    merged_into: uuid.UUID | None = None
    csat: int | None = None
    """The customer's rating (1-5), once its survey was answered (app/csat/)."""
    # SLA clocks (app/sla/)
    sla_turn: str | None = None
    """`customer` after a customer message, `agent` after an agent's reply (the SLA
    clocks' turn); null before either."""
    sla_policy_id: uuid.UUID | None = None
    sla_policy_tm: datetime | None = None
    sla_kind: str | None = None
    sla_status: str | None = None
    sla_due_at: datetime | None = None
    """The room's most pressing SLA clock (kind, status, due): its badge and order."""
    sla_state: str | None = None
    """Its clocks as JSON (app/sla/store.py `state_of`), the copy of its `sla_clocks`
    rows that the message path reads with the room."""
    sla_next_at: datetime | None = None
    """When the SLA worker must next look at it (a due or warning time)."""
    tm_turn: datetime | None = None
    """When its turn (`sla_turn`) began: automation's time triggers count from it."""


class ParticipantRow(msgspec.Struct, frozen=True, kw_only=True):
    """A `participants` row."""

    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    type: str
    target: str
    target_name: str
    name: str
    detail: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None
    contact_id: uuid.UUID | None = None
    """The contact this participant is (app/contacts/matching.py links peers)."""


class ActivityRow(msgspec.Struct, frozen=True, kw_only=True):
    """A `conversation_activities` row: a note or a system line."""

    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    kind: str
    agent_id: uuid.UUID | None
    text: str
    tm_create: datetime
    mentions: str = "[]"
    """A note's mentions as JSON text (`[{"agent_id", "start", "end"}]`)."""


_ROOM = RoomRow.__struct_fields__
_PERSON = ParticipantRow.__struct_fields__
_ROOM_COLUMNS = ", ".join(_ROOM)
_PERSON_COLUMNS = ", ".join(_PERSON)


def _room(record: Any) -> RoomRow:
    return RoomRow(**{f: record[f] for f in _ROOM})


def _person(record: Any, prefix: str = "") -> ParticipantRow:
    return ParticipantRow(**{f: record[prefix + f] for f in _PERSON})


def _activity(record: Any) -> ActivityRow:
    return ActivityRow(**{f: record[f] for f in ActivityRow.__struct_fields__})


# --- rooms ------------------------------------------------------------------------------


class RoomFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which live rooms of a customer a list shows."""

    customer_id: str
    viewer: str | None = None
    """An agent who sees only the rooms assigned to it and the unassigned ones; None for
    admins and managers, who see every room."""
    owner_id: str | None = None
    unassigned: bool = False
    status: str | None = None
    reference_type: str | None = None
    channel: str | None = None
    """A participant type: rooms where a live participant uses that channel."""
    tag: str | None = None
    q: str | None = None
    """Words in a name, an address or a message's text."""
    team_id: str | None = None
    priority: str | None = None
    team_ids: tuple[str, ...] | None = None
    """In any of these teams (the desk's "My teams"); () matches nothing."""
    snoozed: bool | None = None
    """True: snoozed rooms only (the desk's Snoozed view); False: none (the desk's open
    views); None: either (the API's list, unless asked)."""
    contact_id: str | None = None
    """Rooms where this contact takes part (a participant, present or past, is it)."""
    sla: str | None = None
    """Rooms whose most pressing SLA clock is `breached` or `warning`."""


def _conditions(f: RoomFilter) -> list[Any]:
    where: list[Any] = [Conversation.customer_id == f.customer_id, Conversation.tm_delete.is_null()]
    if f.viewer is not None:
        where.append((Conversation.owner_id.is_null()) | (Conversation.owner_id == f.viewer))
    if f.owner_id is not None:
        where.append(Conversation.owner_id == f.owner_id)
    if f.unassigned:
        where.append(Conversation.owner_id.is_null())
    if f.status:
        where.append(Conversation.status == f.status)
    if f.reference_type:
        where.append(Conversation.reference_type == f.reference_type)
    if f.channel:
        where.append(
            WhereRaw(
                "EXISTS (SELECT 1 FROM participants p WHERE p.conversation_id = conversations.id"
                " AND p.tm_delete IS NULL AND p.type = {})",
                f.channel,
            )
        )
    if f.team_id is not None or f.team_ids:
        # spelled out so the planner matches the partial index conversations_team
        where.append(Conversation.team_id.is_not_null())
    if f.team_id is not None:
        where.append(Conversation.team_id == f.team_id)
    if f.priority is not None:
        where.append(Conversation.priority == f.priority)
    if f.team_ids is not None:
        if f.team_ids:
            where.append(Conversation.team_id.is_in(list(f.team_ids)))
        else:
            where.append(WhereRaw("false"))
    if f.tag:  # containment, so the GIN index on tags answers it
        where.append(WhereRaw("tags @> {}::text[]", [f.tag]))
    if f.contact_id is not None:  # participants_contact answers it
        where.append(
            WhereRaw(
                "conversations.id IN (SELECT p.conversation_id FROM participants p"
                " WHERE p.contact_id = {})",
                f.contact_id,
            )
        )
    if f.q:
        where.append(_search(f.q, f.customer_id))
    if f.sla is not None:
        where.append(Conversation.sla_status == f.sla)
    if f.snoozed is True:  # the partial index conversations_snoozed
        where.append(Conversation.tm_snoozed.is_not_null())
    elif f.snoozed is False:
        where.append(Conversation.tm_snoozed.is_null())
    return where


def _search(q: str, customer_id: str) -> WhereRaw:
    """A room matches when its name or address, a participant's address or name, or the
    text of one of its messages (whole words) matches. Written as one set of room ids so
    each part can use its index (trigram indexes where the server has pg_trgm, the text
    index for messages), not a test on every room."""
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql_text = (
        "conversations.id IN ("
        " SELECT c.id FROM conversations c WHERE c.customer_id = {}"
        "   AND (c.name ILIKE {} OR c.reference_id ILIKE {})"
        " UNION SELECT p.conversation_id FROM participants p WHERE p.customer_id = {}"
        "   AND p.tm_delete IS NULL"
        "   AND (p.target ILIKE {} OR p.name ILIKE {} OR p.target_name ILIKE {})"
        " UNION SELECT m.conversation_id FROM messages m WHERE m.customer_id = {}"
        "   AND to_tsvector('simple', m.text) @@ plainto_tsquery('simple', {}))"
    )
    return WhereRaw(
        sql_text, customer_id, like, like, customer_id, like, like, like, customer_id, q
    )


async def page_by_creation(
    f: RoomFilter, page_size: int, page_token: str | None
) -> tuple[list[RoomRow], str]:
    """Newest created first (see core.pagination)."""
    rows, token = await keyset_page(Conversation, _conditions(f), page_size, page_token)
    return [_room(r) for r in rows], token


async def page_by_priority_then_creation(
    f: RoomFilter, page_size: int, page_token: str | None
) -> tuple[list[RoomRow], str]:
    """Urgent first, then high, medium, low, none; newest created first within a priority
    (the index conversations_priority). The token is `<priority>/<tm_create>` of the last
    room; like core.pagination, a page never ends inside a tie of both."""
    check_page_size(page_size)
    rank = QUEUE_RANK.format(col="priority")
    where = _conditions(f)
    if page_token:
        after_rank, after_tm = _priority_token(page_token)
        where.append(
            WhereRaw(
                f"({rank} > {{}} OR ({rank} = {{}} AND tm_create < {{}}))",
                *(after_rank, after_rank, after_tm),
            )
        )

    def query(*extra: Any):
        return (
            Conversation.select()
            .where(*where, *extra)
            .order_by(OrderByRaw(rank))
            .order_by(Conversation.tm_create, ascending=False)
            .order_by(Conversation.id, ascending=False)
        )

    rows = [_room(r) for r in await query().limit(page_size + 1)]
    if len(rows) <= page_size:
        return rows, ""
    page, last = rows[:page_size], rows[page_size - 1]
    key = (last.priority, last.tm_create)
    if (rows[page_size].priority, rows[page_size].tm_create) == key:
        tie = WhereRaw(f"{rank} = {{}}", PRIORITY_RANK.get(last.priority, len(PRIORITY_RANK)))
        ties = [_room(r) for r in await query(tie, Conversation.tm_create == last.tm_create)]
        page = [r for r in page if (r.priority, r.tm_create) != key] + ties
    return page, f"{last.priority}/{fmt(last.tm_create)}"


async def page_by_sla_then_creation(
    f: RoomFilter, page_size: int, page_token: str | None
) -> tuple[list[RoomRow], str]:
    """Breaching soonest first: the rooms with an SLA due time by that time (a breached
    one's is past, so it comes first), then the rooms without one; newest created first
    among equals. The token is `<due or "none">/<tm_create>/<id>` of the last room
    (index conversations_sla_due)."""
    check_page_size(page_size)
    after = _sla_token(page_token) if page_token else None
    rows = await _by_sla(f, after, page_size + 1, Conversation.tm_create)
    if len(rows) <= page_size:
        return rows, ""
    last = rows[page_size - 1]
    due_text = fmt(last.sla_due_at) if last.sla_due_at else "none"
    return rows[:page_size], f"{due_text}/{fmt(last.tm_create)}/{last.id}"


def _sla_token(token: str) -> tuple[datetime | None, datetime, str]:
    try:
        due, tm, room_id = token.split("/", 2)
        return (None if due == "none" else parse(due)), parse(tm), str(uuid.UUID(room_id))
    except ValueError:
        raise BadRequest(
            "invalid_page_token", "page_token must be a next_page_token from an earlier page."
        ) from None


async def page_by_sla(
    f: RoomFilter, after: tuple[datetime | None, datetime, str] | None, limit: int
) -> list[RoomRow]:
    """The desk's "Breaching soon": rooms with an SLA due time, soonest (breached) first,
    then the others; the latest activity first among equals, after the (due, tm_activity,
    id) `after`."""
    return await _by_sla(f, after, limit, Conversation.tm_activity)


async def _by_sla(
    f: RoomFilter,
    after: tuple[datetime | None, datetime, str] | None,
    limit: int,
    then: Timestamptz,
) -> list[RoomRow]:
    """Rooms by SLA due time (nulls last), then `then` newest first and id, after the
    (due, `then`, id) `after`: the API's order (`then`: creation) and the desk's
    (latest activity)."""
    where = _conditions(f)
    if after is not None:
        due, tm, room_id = after
        later = f"({then._meta.db_column_name}, id) < ({{}}, {{}}::uuid)"
        if due is None:
            where.append(WhereRaw(f"(sla_due_at IS NULL AND {later})", tm, room_id))
        else:
            where.append(
                WhereRaw(
                    f"(sla_due_at IS NULL OR sla_due_at > {{}} OR (sla_due_at = {{}} AND {later}))",
                    due,
                    due,
                    tm,
                    room_id,
                )
            )
    rows = await (
        Conversation.select()
        .where(*where)
        .order_by(OrderByRaw("sla_due_at IS NULL"))
        .order_by(Conversation.sla_due_at)
        .order_by(then, ascending=False)
        .order_by(Conversation.id, ascending=False)
        .limit(limit)
    )
    return [_room(r) for r in rows]


def _priority_token(token: str) -> tuple[int, datetime]:
    priority, _, tm = token.partition("/")
    try:
        return PRIORITY_RANK[priority], parse(tm)
    except (KeyError, ValueError):
        raise BadRequest(
            "invalid_page_token", "page_token must be a next_page_token from an earlier page."
        ) from None


async def page_by_activity(
    f: RoomFilter, after: tuple[datetime, str] | None, limit: int
) -> list[RoomRow]:
    """Up to `limit` rooms, latest activity first, after the (tm_activity, id) `after`."""
    where = _conditions(f)
    if after is not None:
        where.append(WhereRaw("(tm_activity, id) < ({}, {}::uuid)", *after))
    rows = await (
        Conversation.select()
        .where(*where)
        .order_by(Conversation.tm_activity, ascending=False)
        .order_by(Conversation.id, ascending=False)
        .limit(limit)
    )
    return [_room(r) for r in rows]


async def page_by_priority(
    f: RoomFilter, after: tuple[int, datetime, str] | None, limit: int
) -> list[RoomRow]:
    """Up to `limit` rooms, most urgent first and within a priority the latest activity
    first, after the (rank, tm_activity, id) `after`. (The directions differ, so the
    keyset condition is spelled out rather than one row comparison.)"""
    rank_sql = QUEUE_RANK.format(col="priority")  # urgent first
    where = _conditions(f)
    if after is not None:
        rank, tm, room_id = after
        where.append(
            WhereRaw(
                f"(({rank_sql}) > {{}} OR (({rank_sql}) = {{}}"
                " AND (tm_activity, id) < ({}, {}::uuid)))",
                rank,
                rank,
                tm,
                room_id,
            )
        )
    rows = await (
        Conversation.select()
        .where(*where)
        .order_by(OrderByRaw(rank_sql))
        .order_by(Conversation.tm_activity, ascending=False)
        .order_by(Conversation.id, ascending=False)
        .limit(limit)
    )
    return [_room(r) for r in rows]


async def team_names(customer_id: str, team_ids: Sequence[Any]) -> dict[str, str]:
    """Team names by id, for the customer's teams among `team_ids` (the inbox's chips)."""
    ids = sorted({str(t) for t in team_ids if t})
    if not ids:
        return {}
    rows = await sql.fetch(
        "SELECT id, name FROM teams WHERE customer_id = $1 AND id = ANY($2::uuid[])",
        customer_id,
        ids,
    )
    return {str(r["id"]): r["name"] for r in rows}


async def queue_lengths(customer_id: str, team_ids: list[str]) -> dict[str, int]:
    """How many rooms wait in each of these teams' queues (index conversations_queue)."""
    if not team_ids:
        return {}
    rows = await (
        Conversation.select(Conversation.team_id, Count(alias="waiting"))
        .where(
            Conversation.customer_id == customer_id,
            Conversation.team_id.is_in(team_ids),
            Conversation.tm_queued.is_not_null(),
            Conversation.tm_delete.is_null(),
        )
        .group_by(Conversation.team_id)
    )
    return {str(r["team_id"]): int(r["waiting"]) for r in rows}


async def visible_room(
    customer_id: str, room_id: str, viewer: str | None = None, *, lock: bool = False
) -> RoomRow | None:
    """A live room of the customer (that agent `viewer` may see, when given), locked for
    update when asked."""
    query = (
        f"SELECT {_ROOM_COLUMNS} FROM conversations"
        " WHERE id = $1 AND customer_id = $2 AND tm_delete IS NULL"
    )
    args: list[Any] = [room_id, customer_id]
    if viewer is not None:
        query += " AND (owner_id IS NULL OR owner_id = $3)"
        args.append(viewer)
    record = await sql.fetchrow(query + (" FOR NO KEY UPDATE" if lock else ""), *args)
    return _room(record) if record is not None else None


async def room_of_customer(customer_id: str, room_id: str) -> RoomRow | None:
    """A room as it is now, deleted or not (the desk reads it once per room event)."""
    record = await sql.fetchrow(
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE id = $1 AND customer_id = $2",
        room_id,
        customer_id,
    )
    return _room(record) if record is not None else None


async def open_room_for_update(customer_id: str, room_id: Id) -> RoomRow | None:
    """A live room of the customer that is not closed, locked."""
    record = await sql.fetchrow(
        f"SELECT {_ROOM_COLUMNS} FROM conversations WHERE id = $1 AND customer_id = $2"
        " AND tm_delete IS NULL AND status <> 'closed' FOR NO KEY UPDATE",
        room_id,
        customer_id,
    )
    return _room(record) if record is not None else None


_LATEST_OF_ADDRESS = (
    "SELECT "
    + ", ".join(f"c.{f}" for f in _ROOM)
    + ", "
    + ", ".join(f"p.{f} AS p_{f}" for f in _PERSON)
    + " FROM participants p JOIN conversations c ON c.id = p.conversation_id"
    " WHERE p.customer_id = $1 AND p.type = $2 AND p.target = $3 AND p.tm_delete IS NULL"
    " AND c.tm_delete IS NULL AND c.status <> 'closed'"
    " ORDER BY c.tm_activity DESC LIMIT 1"
)


async def latest_open_room_of_address(
    customer_id: str, ptype: str, target: str, *, lock: bool = True
) -> tuple[RoomRow, ParticipantRow] | None:
    """The most recently active open room with this address as a live participant
    (locked unless `lock` is False), and that participant."""
    query = _LATEST_OF_ADDRESS + (" FOR NO KEY UPDATE OF c" if lock else "")
    record = await sql.fetchrow(query, customer_id, ptype, target)
    if record is None:
        return None
    return _room(record), _person(record, "p_")


async def insert_room(
    customer_id: str,
    *,
    account_id: uuid.UUID | None,
    name: str,
    detail: str,
    status: str,
    reference_type: str,
    reference_id: str,
    at: datetime,
    team_id: uuid.UUID | None = None,
) -> RoomRow:
    rows = await Conversation.insert(
        Conversation(
            customer_id=customer_id,
            account_id=account_id,
            team_id=team_id,
            name=name,
            detail=detail,
            status=status,
            reference_type=reference_type,
            reference_id=reference_id,
            tm_activity=at,
            tm_create=at,
            tm_update=at,
        )
    ).returning(*Conversation.all_columns())
    return _room(rows[0])


class SlaColumns(msgspec.Struct, frozen=True, kw_only=True):
    """What a message sets of the room's SLA columns when it moves a clock (app/sla/):
    written by the message's own `UPDATE`, not by a second one."""

    policy_id: str | None
    policy_tm: datetime | None
    kind: str | None
    status: str | None
    due_at: datetime | None
    clocks: Any = None
    """The clocks' own write, run in the same statement (a data-modifying `WITH`): given
    the first free parameter number, its `WITH` items and their parameters; None when no
    clock row changed (app/sla/store.py `clocks_write`)."""
    state: str | None = None
    """The room's copy of its clocks (`sla_state`), as that write leaves them."""
    next_at: datetime | None = None
    """When the SLA worker must next look at the room (`sla_next_at`)."""


_FIRST_REPLY = (
    "$4 AND $5::uuid IS NOT NULL AND tm_first_reply IS NULL AND tm_first_inbound IS NOT NULL"
)
"""SQL: this message is the room's first response (an agent's reply after the customer's
first message, the first such)."""


_COUNTED = (
    # the message counted in its quarter hour (the reports' slots)
    " counted AS (INSERT INTO report_slots"
    " (customer_id, conversation_id, slot, agent_id, inbound, replies)"
    f" SELECT customer_id, id, $6, coalesce($5::uuid, '{NOBODY}'),"
    " CASE WHEN $4 THEN 0 ELSE 1 END, CASE WHEN $4 THEN 1 ELSE 0 END"
    " FROM room WHERE NOT $4 OR $5::uuid IS NOT NULL"
    " ON CONFLICT (conversation_id, slot, agent_id) DO UPDATE"
    " SET inbound = report_slots.inbound + excluded.inbound,"
    " replies = report_slots.replies + excluded.replies)"
    " SELECT * FROM room"
)
"""The end of both message statements: the updated room (`room`, $4 reply, $5 agent, $6
slot) counted in the reports' slots, and the room returned."""


_RECORD_MESSAGE = (
    "WITH {clocks}room AS (UPDATE conversations SET last_message = $2, tm_last_message = $3,"
    " tm_activity = $3, tm_update = $3, status = 'active', tm_closed = NULL,"
    " tm_awaiting_reply = CASE WHEN $4 AND owner_id = $5::uuid THEN NULL"
    " ELSE tm_awaiting_reply END,"
    # whose turn it is, for the SLA clocks: an agent's reply counts, an integration's (an
    # access key's, an automatic one: no agent) does not
    " sla_turn = CASE WHEN NOT $4 THEN 'customer' WHEN $5::uuid IS NOT NULL THEN 'agent'"
    " ELSE sla_turn END,"
    # when that turn began (automation's time triggers count from it)
    " tm_turn = CASE WHEN NOT $4 AND sla_turn IS DISTINCT FROM 'customer' THEN $3"
    " WHEN $4 AND $5::uuid IS NOT NULL AND sla_turn IS DISTINCT FROM 'agent' THEN $3"
    " ELSE tm_turn END,"
    # the reports' facts: the first customer message, the first agent reply after it
    " tm_first_inbound = CASE WHEN $4 THEN tm_first_inbound"
    " ELSE coalesce(tm_first_inbound, $3) END,"
    f" first_reply_agent_id = CASE WHEN {_FIRST_REPLY} THEN $5::uuid"
    " ELSE first_reply_agent_id END,"
    f" tm_first_reply = CASE WHEN {_FIRST_REPLY} THEN $3 ELSE tm_first_reply END{{sla}}"
    f" WHERE id = $1 RETURNING {_ROOM_COLUMNS})," + _COUNTED
)


async def record_message(
    room_id: uuid.UUID,
    preview: str,
    at: datetime,
    *,
    reply: bool = False,
    agent_id: str | None = None,
    sla: SlaColumns | None = None,
) -> RoomRow:
    """A message in the room: its preview, the activity time, and the room active. A
    `reply` (outbound) by the room's assignee (`agent_id`) also ends the wait for its
    answer (the reassign-after timer's `tm_awaiting_reply`): another agent's reply, or an
    access key's, does not answer for the assignee. `sla`: the room's SLA columns, when
    the message moved its clocks.

    The same statement keeps the reports' facts (app/reports, docs/ARCHITECTURE.md
    "Reports"): the room's first customer message and first agent reply after it, open
    again (no close time), and the message counted in its quarter hour — the customer's
    under the nil agent, an agent's reply under that agent; an integration's reply is no
    agent's and is not counted. One round trip in all: the SLA clocks' write and the
    report slot's upsert are `WITH` items of the room's own `UPDATE`."""
    args: list[Any] = [room_id, preview, at, reply, agent_id, slot_of(at)]
    sla_sets = ""
    with_items = ""
    if sla is not None:
        sla_sets = (
            ", sla_policy_id = $7::uuid, sla_policy_tm = $8, sla_kind = $9, sla_status = $10,"
            " sla_due_at = $11, sla_state = $12, sla_next_at = $13"
        )
        args += [
            sla.policy_id,
            sla.policy_tm,
            sla.kind,
            sla.status,
            sla.due_at,
            sla.state,
            sla.next_at,
        ]
        if sla.clocks is not None:
            items, more = sla.clocks(len(args) + 1)
            with_items = f"{items}, "
            args += more
    record = await sql.fetchrow(_RECORD_MESSAGE.format(clocks=with_items, sla=sla_sets), *args)
    return _room(record)


def awaits_routing(room: RoomRow) -> bool:
    """A room of a team that nobody has and that waits in no queue: routing must decide
    for it (a new room of a team's channel, or one nobody decided for yet)."""
    return room.team_id is not None and room.owner_id is None and room.tm_queued is None


def fits_unlocked(room: RoomRow, *, inbound: bool, agent: bool) -> bool:
    """Whether a message can be recorded on the room, as read without its lock, by
    `record_message_unlocked` (docs/ARCHITECTURE.md, "Hot rooms"): the room is active
    and the message changes nothing but its summary — it does not change whose turn it
    is (so no SLA clock moves and the turn's time stays), and an inbound one wakes no
    snooze and needs no routing. An agent's `reply` (`agent`) needs the agent's turn; an
    integration's moves no turn. The statement checks the same rule again
    (`_UNLOCKED_GUARD`) on the row as it is when the UPDATE takes it."""
    if room.status != "active" or room.tm_delete is not None:
        return False
    if inbound:
        return room.sla_turn == "customer" and room.tm_snoozed is None and not awaits_routing(room)
    return not agent or room.sla_turn == "agent"


_UNLOCKED_GUARD = (
    " WHERE id = $1 AND tm_delete IS NULL AND status = 'active'"
    # the assignee the caller read: its events' audience, and the viewer check it passed
    " AND owner_id IS NOT DISTINCT FROM $7::uuid"
    " AND CASE WHEN NOT $4 THEN sla_turn = 'customer' AND tm_snoozed IS NULL"
    " AND NOT (team_id IS NOT NULL AND owner_id IS NULL AND tm_queued IS NULL)"
    " WHEN $5::uuid IS NOT NULL THEN sla_turn = 'agent' ELSE true END"
)
"""`fits_unlocked` in SQL, and the assignee unchanged since it was read."""


_RECORD_UNLOCKED = (
    # times only move forward: of two messages in flight, the later stamp may commit
    # first, and the preview is the latest message's
    "WITH room AS (UPDATE conversations SET"
    " last_message = CASE WHEN tm_last_message > $3 THEN last_message ELSE $2 END,"
    " tm_last_message = greatest(tm_last_message, $3),"
    " tm_activity = greatest(tm_activity, $3), tm_update = greatest(tm_update, $3),"
    " tm_awaiting_reply = CASE WHEN $4 AND owner_id = $5::uuid THEN NULL"
    " ELSE tm_awaiting_reply END,"
    " tm_first_inbound = CASE WHEN $4 THEN tm_first_inbound"
    " ELSE least(tm_first_inbound, $3) END,"
    f" first_reply_agent_id = CASE WHEN {_FIRST_REPLY} THEN $5::uuid"
    " ELSE first_reply_agent_id END,"
    f" tm_first_reply = CASE WHEN {_FIRST_REPLY} THEN $3 ELSE tm_first_reply END"
    f"{_UNLOCKED_GUARD} RETURNING {_ROOM_COLUMNS})," + _COUNTED
)


async def record_message_unlocked(
    room: RoomRow,
    preview: str,
    at: datetime,
    *,
    reply: bool = False,
    agent_id: str | None = None,
) -> RoomRow | None:
    """`record_message` for a room read without its lock, when `fits_unlocked` says the
    message only moves its summary: one conditional UPDATE that re-checks that rule on
    the row as it now is, and writes what `record_message` would (whose turn it is stays
    as it was). Meant as the last statement of the message's writes: the row lock it
    takes is held only until the commit. None when the room no longer fits (closed,
    snoozed, another assignee, another turn...): nothing was written, and the caller
    records the message under the room's lock instead."""
    record = await sql.fetchrow(
        _RECORD_UNLOCKED,
        room.id,
        preview,
        at,
        reply,
        agent_id,
        slot_of(at),
        room.owner_id,
    )
    return _room(record) if record is not None else None


async def record_preview(room_id: uuid.UUID, preview: str, at: datetime) -> None:
    """A message that moves the room's preview but is no activity: a satisfaction
    survey, or the customer's answer to it, in a closed room. The status and the idle
    and close timers' time stay as they are (`record_message` would reopen the room)."""
    await sql.execute(
        "UPDATE conversations SET last_message = $2, tm_last_message = $3, tm_update = $3"
        " WHERE id = $1",
        room_id,
        preview,
        at,
    )


async def set_csat(room_id: uuid.UUID, rating: int, at: datetime) -> RoomRow:
    """The room's rating, once its survey is answered."""
    record = await sql.fetchrow(
        f"UPDATE conversations SET csat = $2, tm_update = $3 WHERE id = $1"
        f" RETURNING {_ROOM_COLUMNS}",
        room_id,
        rating,
        at,
    )
    return _room(record)


class RoomChanges(msgspec.Struct, frozen=True, kw_only=True):
    """What an update sets; unset fields stay as they are."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    detail: str | msgspec.UnsetType = msgspec.UNSET
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET
    owner_type: str | msgspec.UnsetType = msgspec.UNSET
    owner_id: str | None | msgspec.UnsetType = msgspec.UNSET
    status: str | msgspec.UnsetType = msgspec.UNSET
    tm_activity: datetime | msgspec.UnsetType = msgspec.UNSET
    team_id: str | None | msgspec.UnsetType = msgspec.UNSET
    priority: str | msgspec.UnsetType = msgspec.UNSET
    assignment_reason: str | msgspec.UnsetType = msgspec.UNSET
    tm_queued: datetime | None | msgspec.UnsetType = msgspec.UNSET
    tm_assigned: datetime | None | msgspec.UnsetType = msgspec.UNSET
    tm_awaiting_reply: datetime | None | msgspec.UnsetType = msgspec.UNSET
    reassigned_from: str | None | msgspec.UnsetType = msgspec.UNSET
    tm_snoozed: datetime | None | msgspec.UnsetType = msgspec.UNSET
    snoozed_until: datetime | None | msgspec.UnsetType = msgspec.UNSET
    snooze_until_reply: bool | msgspec.UnsetType = msgspec.UNSET


_ROOM_CASTS = {"owner_id": "::uuid", "team_id": "::uuid", "reassigned_from": "::uuid"}
"""RoomChanges carry these ids as text."""


async def update_room(room_id: uuid.UUID, changes: RoomChanges, at: datetime) -> RoomRow:
    """Plain SQL: every change of a room (a person's, a bulk action's, a rule's) comes
    through here, and Piccolo's builder cost more CPU than the statement (a third of a
    time rule's work per room, bench/automation.py)."""
    values: dict[str, Any] = {
        name: value
        for name, value in msgspec.structs.asdict(changes).items()
        if value is not msgspec.UNSET
    }
    values["tm_update"] = at
    if changes.status is not msgspec.UNSET:  # the reports' close time (callers change it)
        values["tm_closed"] = at if changes.status == "closed" else None
    sets = ", ".join(
        f"{name} = ${i}{_ROOM_CASTS.get(name, '')}" for i, name in enumerate(values, start=2)
    )
    record = await sql.fetchrow(
        f"UPDATE conversations SET {sets} WHERE id = $1 RETURNING {_ROOM_COLUMNS}",
        room_id,
        *values.values(),
    )
    return _room(record)


async def soft_delete_room(room_id: uuid.UUID, at: datetime) -> RoomRow:
    rows = (
        await Conversation.update({Conversation.tm_delete: at, Conversation.tm_update: at})
        .where(Conversation.id == room_id)
        .returning(*Conversation.all_columns())
    )
    return _room(rows[0])


async def touch_room(room_id: uuid.UUID, at: datetime) -> RoomRow:
    """Mark the room changed; returns it as it now is, for the event that says so."""
    rows = (
        await Conversation.update({Conversation.tm_update: at})
        .where(Conversation.id == room_id)
        .returning(*Conversation.all_columns())
    )
    return _room(rows[0])


async def owner_of(room_id: Id) -> uuid.UUID | None:
    return await sql.fetchval("SELECT owner_id FROM conversations WHERE id = $1", room_id)


async def name_of(room_id: Id) -> str:
    return await sql.fetchval("SELECT name FROM conversations WHERE id = $1", room_id) or ""


async def lock_quiet_rooms(
    *, active_only: bool, quiet_since: datetime, limit: int
) -> list[RoomRow]:
    """Live rooms without activity since `quiet_since` — the active ones, or every one
    not yet closed — oldest activity first, locked. SKIP LOCKED: several workers can
    sweep at once without doing a room twice, and a room locked by a message arriving
    right now is left for next time."""
    status = Conversation.status == "active" if active_only else Conversation.status != "closed"
    rows = await (
        Conversation.select()
        .where(
            Conversation.tm_delete.is_null(),
            status,
            Conversation.tm_activity <= quiet_since,
            # a snoozed room waits on purpose: it is not quiet until it wakes
            Conversation.tm_snoozed.is_null(),
        )
        .order_by(Conversation.tm_activity)
        .limit(limit)
        .lock_rows("NO KEY UPDATE", skip_locked=True)
    )
    return [_room(r) for r in rows]


async def set_status(room_id: uuid.UUID, status: str, at: datetime) -> RoomRow:
    values: dict[Any, Any] = {
        Conversation.status: status,
        Conversation.tm_update: at,
        Conversation.tm_closed: at if status == "closed" else None,
    }
    if status == "closed":  # a closed room waits for nobody
        values[Conversation.tm_queued] = None
    rows = (
        await Conversation.update(values)
        .where(Conversation.id == room_id)
        .returning(*Conversation.all_columns())
    )
    return _room(rows[0])


# --- the team queue ---------------------------------------------------------------------

QUEUE_RANK = (
    "CASE {col} "
    + " ".join(f"WHEN '{p}' THEN {rank}" for p, rank in PRIORITY_RANK.items())
    + f" ELSE {len(PRIORITY_RANK)} END"
)
"""A room's priority as the queue's first sort key (urgent first), in SQL; `{col}` is the
priority column."""


def waiting(alias: str) -> str:
    """SQL: the room `alias` waits in its team's queue (the partial index
    conversations_queue covers the first two terms)."""
    return (
        f"{alias}.tm_queued IS NOT NULL AND {alias}.tm_delete IS NULL"
        f" AND {alias}.status <> 'closed'"
    )


async def queue_positions(rows: Sequence[RoomRow]) -> dict[str, int]:
    """The 1-based queue position of each waiting room among `rows`: the rooms of its team
    waiting before it (higher priority, or the same and waiting longer), plus one."""
    queued = [str(r.id) for r in rows if r.tm_queued is not None and r.team_id is not None]
    if not queued:
        return {}
    records = await sql.fetch(
        "SELECT r.id, (SELECT count(*) FROM conversations c WHERE c.team_id = r.team_id"
        f" AND {waiting('c')}"
        f" AND ({QUEUE_RANK.format(col='c.priority')}, c.tm_queued, c.id)"
        f" <= ({QUEUE_RANK.format(col='r.priority')}, r.tm_queued, r.id)) AS position"
        " FROM conversations r WHERE r.id = ANY($1::uuid[]) AND r.tm_queued IS NOT NULL",
        queued,
    )
    return {str(r["id"]): r["position"] for r in records}


# --- participants -----------------------------------------------------------------------


async def live_participants(room_ids: Sequence[Id]) -> dict[str, list[ParticipantRow]]:
    """Each room's live participants, in the order they joined."""
    by_room: dict[str, list[ParticipantRow]] = {str(c): [] for c in room_ids}
    if not room_ids:
        return by_room
    records = await sql.fetch(
        f"SELECT {_PERSON_COLUMNS} FROM participants WHERE conversation_id = ANY($1::uuid[])"
        " AND tm_delete IS NULL ORDER BY tm_create",
        [str(c) for c in room_ids],
    )
    for record in records:
        by_room[str(record["conversation_id"])].append(_person(record))
    return by_room


async def live_participant(room_id: Id, ptype: str, target: str) -> ParticipantRow | None:
    record = await sql.fetchrow(
        f"SELECT {_PERSON_COLUMNS} FROM participants WHERE conversation_id = $1 AND type = $2"
        " AND target = $3 AND tm_delete IS NULL",
        room_id,
        ptype,
        target,
    )
    return _person(record) if record is not None else None


async def live_participant_by_id(room_id: Id, participant_id: str) -> ParticipantRow | None:
    row = (
        await Participant.select()
        .where(
            Participant.id == participant_id,
            Participant.conversation_id == room_id,
            Participant.tm_delete.is_null(),
        )
        .first()
    )
    return _person(row) if row is not None else None


async def insert_participant(
    customer_id: Id,
    room_id: Id,
    ptype: str,
    target: str,
    target_name: str = "",
    name: str = "",
    detail: str = "",
    contact_id: Id | None = None,
) -> ParticipantRow:
    rows = await Participant.insert(
        Participant(
            customer_id=customer_id,
            conversation_id=room_id,
            type=ptype,
            target=target,
            target_name=target_name,
            name=name,
            detail=detail,
            contact_id=contact_id,
        )
    ).returning(*Participant.all_columns())
    return _person(rows[0])


async def set_participant_profile(room_id: Id, target: str, name: str, detail: str) -> None:
    await Participant.update({Participant.name: name, Participant.detail: detail}).where(
        Participant.conversation_id == room_id, Participant.target == target
    )


async def set_target_name(participant_id: uuid.UUID, target_name: str) -> None:
    await sql.execute(
        "UPDATE participants SET target_name = $2 WHERE id = $1", participant_id, target_name
    )


async def link_contact(participant_id: uuid.UUID, contact_id: Id | None) -> None:
    """The participant is this contact (app/contacts/)."""
    await sql.execute(
        "UPDATE participants SET contact_id = $2 WHERE id = $1", participant_id, contact_id
    )


async def remove_participant(participant_id: uuid.UUID, at: datetime) -> ParticipantRow:
    rows = (
        await Participant.update({Participant.tm_delete: at, Participant.tm_update: at})
        .where(Participant.id == participant_id)
        .returning(*Participant.all_columns())
    )
    return _person(rows[0])


async def latest_name_of_address(customer_id: Id, ptype: str, target: str) -> str:
    """The name this address was last given in any room of the customer ("" if none)."""
    return (
        await sql.fetchval(
            "SELECT target_name FROM participants WHERE customer_id = $1 AND type = $2"
            " AND target = $3 AND target_name <> ALL($4::text[])"
            " ORDER BY tm_create DESC LIMIT 1",
            customer_id,
            ptype,
            target,
            list(NO_NAME),
        )
        or ""
    )


async def rooms_of_address(customer_id: str, ptype: str, target: str) -> set[str]:
    """The rooms where this address is, or was, a participant."""
    rows = (
        await Participant.select(Participant.conversation_id)
        .where(
            Participant.customer_id == customer_id,
            Participant.type == ptype,
            Participant.target == target,
        )
        .distinct()
    )
    return {str(r["conversation_id"]) for r in rows}


# --- the timeline's notes and system lines ------------------------------------------------


async def insert_activity(
    room: RoomRow,
    kind: str,
    text: str,
    agent_id: str | None,
    at: datetime,
    mentions: str = "[]",
) -> ActivityRow:
    """Plain SQL: routing writes a system line with every decision, on the inbound path.
    `mentions`: a note's, as JSON text."""
    return await sql.returned(
        ActivityRow,
        "INSERT INTO conversation_activities (id, customer_id, conversation_id, kind, agent_id,"
        " text, tm_create, mentions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)"
        f" RETURNING {', '.join(ActivityRow.__struct_fields__)}",
        uuid.uuid4(),
        room.customer_id,
        room.id,
        kind,
        agent_id,
        text,
        at,
        mentions,
    )


async def activities_before(room_id: Id, before: datetime | None, limit: int) -> list[ActivityRow]:
    """Newest first."""
    query = Activity.select().where(Activity.conversation_id == room_id)
    if before is not None:
        query = query.where(Activity.tm_create < before)
    rows = await query.order_by(Activity.tm_create, ascending=False).limit(limit)
    return [_activity(r) for r in rows]


# --- read marks ---------------------------------------------------------------------------


async def unread_counts(agent_id: str, room_ids: Sequence[Id]) -> dict[str, int]:
    """Inbound messages after the agent's read mark, per room (all of them if none)."""
    return {room: n for (room, _), n in (await _unread(room_ids, [agent_id])).items()}


async def unread_for_agents(room_id: str, agent_ids: list[str]) -> dict[str, int]:
    """One room's unread count for each of these agents."""
    return {agent: n for (_, agent), n in (await _unread([room_id], agent_ids)).items()}


async def _unread(room_ids: Sequence[Id], agent_ids: Sequence[Id]) -> dict[tuple[str, str], int]:
    """{(room, agent): the room's inbound messages after the agent's read mark (all of
    them when the agent has none)} for every room and agent given."""
    if not room_ids or not agent_ids:
        return {}
    records = await sql.fetch(
        "SELECT c.id AS room, a.id AS agent, (SELECT count(*) FROM messages m"
        "   WHERE m.conversation_id = c.id AND m.direction = 'inbound'"
        "   AND m.tm_create > coalesce(r.tm_read, '-infinity')) AS unread"
        " FROM unnest($1::uuid[]) AS c(id) CROSS JOIN unnest($2::uuid[]) AS a(id)"
        " LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.agent_id = a.id",
        [str(r) for r in room_ids],
        [str(a) for a in agent_ids],
    )
    return {(str(r["room"]), str(r["agent"])): r["unread"] for r in records}


async def mark_read(customer_id: str, agent_id: str, room_id: str, at: datetime) -> None:
    """The agent has read the room up to `at` (a mark never moves back)."""
    await ReadMark.insert(
        ReadMark(customer_id=customer_id, agent_id=agent_id, conversation_id=room_id, tm_read=at)
    ).on_conflict(
        target=(ReadMark.agent_id, ReadMark.conversation_id),
        action="DO UPDATE",
        values=[ReadMark.tm_read],
        where=ReadMark.tm_read < at,
    )


# --- notes and system lines through the API ------------------------------


async def activity_page(
    room_id: Id, kinds: Sequence[str], page_size: int, page_token: str | None
) -> tuple[list[ActivityRow], str]:
    """The room's lines of these kinds, newest first (see core.pagination)."""
    rows, token = await keyset_page(
        Activity,
        [Activity.conversation_id == room_id, Activity.kind.is_in(list(kinds))],
        page_size,
        page_token,
    )
    return [_activity(r) for r in rows], token


async def activities_of_kinds(
    room_id: Id,
    kinds: Sequence[str],
    *,
    before: datetime | None = None,
    at: datetime | None = None,
    limit: int = 101,
) -> list[ActivityRow]:
    """The room's lines of these kinds created before `before` (or exactly `at`), newest
    first: one side of `GET …/messages?include=`."""
    query = Activity.select().where(
        Activity.conversation_id == room_id, Activity.kind.is_in(list(kinds))
    )
    if before is not None:
        query = query.where(Activity.tm_create < before)
    if at is not None:
        query = query.where(Activity.tm_create == at)
    rows = (
        await query.order_by(Activity.tm_create, ascending=False)
        .order_by(Activity.id, ascending=False)
        .limit(limit)
    )
    return [_activity(r) for r in rows]

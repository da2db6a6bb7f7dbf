"""The Talk tables' SQL: talks, their participants, messages and reactions, as typed rows.

Piccolo's query builder by default. Plain SQL (app/db/sql.py) where a talk message's own
path or a talk event's fan-out runs the statement, because there the builder costs about
twice the time of the query (bench/data_access.py), and where the builder cannot say it
(a correlated count, an ordered aggregate, an advisory lock); docs/ARCHITECTURE.md lists
each one ("Raw SQL, and why").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec
from piccolo.columns.combination import Combinable, Where
from piccolo.query import OrderByRaw

from app.core.pagination import keyset_page_as
from app.db import sql, typed
from app.db.tables import Talk, TalkMessage, TalkParticipant, TalkReaction
from app.domain.enums import TalkMessageType, TalkParticipantStatus, TalkStatus, TalkType

ACTIVE = TalkParticipantStatus.ACTIVE.value


class TalkRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    type: str
    name: str
    detail: str
    status: str
    creator_id: UUID | None
    direct_key: str | None
    tm_last_message: datetime | None
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None


class ParticipantRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    talk_id: UUID
    agent_id: UUID
    status: str
    tm_joined: datetime
    tm_left: datetime | None
    tm_read: datetime


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    talk_id: UUID
    agent_id: UUID | None
    type: str
    text: str
    parent_id: UUID | None
    reply_count: int
    medias: str
    """The JSON array as stored."""
    tm_create: datetime
    tm_edit: datetime | None
    tm_delete: datetime | None


class ReactionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One emoji on one message, with who used it (oldest first)."""

    message_id: UUID
    emoji: str
    agents: list[str]


class UnreadRow(msgspec.Struct, frozen=True, kw_only=True):
    talk_id: UUID
    agent_id: UUID
    tm_read: datetime
    unread: int


# --- plain SQL: a message's own path and a talk event's fan-out --------------------------

_TALK = (
    "id, customer_id, type, name, detail, status, creator_id, direct_key, tm_last_message,"
    " tm_create, tm_update, tm_delete"
)
_PARTICIPANT = "id, customer_id, talk_id, agent_id, status, tm_joined, tm_left, tm_read"
_MESSAGE = (
    "id, customer_id, talk_id, agent_id, type, text, parent_id, reply_count,"
    " medias::text AS medias, tm_create, tm_edit, tm_delete"
)


async def talk(
    customer_id: str, talk_id: str, *, deleted: bool = False, lock: bool = False
) -> TalkRow | None:
    """The customer's talk `talk_id`: live only unless `deleted`; `lock` takes its row
    lock (inside a transaction)."""
    return await sql.fetchrow_as(
        TalkRow,
        f"SELECT {_TALK} FROM talks WHERE id = $1::uuid AND customer_id = $2"
        + ("" if deleted else " AND tm_delete IS NULL")
        + (" FOR UPDATE" if lock else ""),
        talk_id,
        customer_id,
    )


async def participants_of(talk_ids: Iterable[UUID | str]) -> dict[str, list[ParticipantRow]]:
    """Each talk's participants (active and left), in the order they joined."""
    wanted = [str(t) for t in talk_ids]
    rows = await sql.fetch_as(
        ParticipantRow,
        f"SELECT {_PARTICIPANT} FROM talk_participants WHERE talk_id = ANY($1::uuid[])"
        " ORDER BY tm_joined, id",
        wanted,
    )
    found: dict[str, list[ParticipantRow]] = {t: [] for t in wanted}
    for row in rows:
        found[str(row.talk_id)].append(row)
    return found


async def last_messages(talk_ids: Iterable[UUID | str]) -> dict[str, MessageRow]:
    """Each talk's newest live normal message, thread replies included (what moved the
    talk up the list: `touch` follows the same messages), for the talk list's preview.
    One index probe per talk on talk_messages_unread (talk_id, tm_create) of exactly those
    rows; plain SQL for the LATERAL join."""
    wanted = [str(t) for t in talk_ids]
    if not wanted:
        return {}
    rows = await sql.fetch_as(
        MessageRow,
        f"SELECT {_MESSAGE} FROM unnest($1::uuid[]) AS wanted(wanted_id)"
        " CROSS JOIN LATERAL (SELECT * FROM talk_messages m"
        "  WHERE m.talk_id = wanted.wanted_id AND m.type = 'normal' AND m.tm_delete IS NULL"
        "  ORDER BY m.tm_create DESC LIMIT 1) AS last",
        wanted,
    )
    return {str(r.talk_id): r for r in rows}


async def message(talk_id: str, message_id: str, *, lock: bool = False) -> MessageRow | None:
    return await sql.fetchrow_as(
        MessageRow,
        f"SELECT {_MESSAGE} FROM talk_messages WHERE id = $1::uuid AND talk_id = $2::uuid"
        + (" FOR UPDATE" if lock else ""),
        message_id,
        talk_id,
    )


async def insert_message(
    customer_id: str,
    talk_id: str,
    agent_id: str | None,
    type: TalkMessageType,
    text: str,
    parent_id: str | None,
    medias: str,
    at: datetime,
) -> MessageRow:
    """A new message; `medias` is its JSON array."""
    return await sql.returned(
        MessageRow,
        f"INSERT INTO talk_messages (id, customer_id, talk_id, agent_id, type, text, parent_id,"
        f" medias, tm_create) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::jsonb, $8)"
        f" RETURNING {_MESSAGE}",
        customer_id,
        talk_id,
        agent_id,
        type.value,
        text,
        parent_id,
        medias,
        at,
    )


async def count_reply(root_id: UUID) -> MessageRow:
    """The thread's root, with one reply more."""
    return await sql.returned(
        MessageRow,
        f"UPDATE talk_messages SET reply_count = reply_count + 1 WHERE id = $1"
        f" RETURNING {_MESSAGE}",
        root_id,
    )


async def touch(talk_id: str, at: datetime) -> None:
    """The talk's last normal message was written at `at` (the talk list's order)."""
    await sql.execute("UPDATE talks SET tm_last_message = $2 WHERE id = $1::uuid", talk_id, at)


async def read_up_to(talk_id: str, agent_id: str, at: datetime) -> None:
    """The agent has read the talk up to `at` (never moved back)."""
    await sql.execute(
        "UPDATE talk_participants SET tm_read = greatest(tm_read, $3)"
        " WHERE talk_id = $1::uuid AND agent_id = $2::uuid",
        talk_id,
        agent_id,
        at,
    )


async def reactions_of(message_ids: Iterable[UUID | str]) -> list[ReactionRow]:
    """Each message's reactions: one row per emoji, in the order they were first used."""
    return await sql.fetch_as(
        ReactionRow,
        "SELECT message_id, emoji, array_agg(agent_id::text ORDER BY id) AS agents"
        " FROM talk_reactions WHERE message_id = ANY($1::uuid[])"
        " GROUP BY message_id, emoji ORDER BY min(id)",
        [str(m) for m in message_ids],
    )


_UNREAD = (
    "SELECT p.talk_id, p.agent_id, p.tm_read, (SELECT count(*) FROM talk_messages m"
    "   WHERE m.talk_id = p.talk_id AND m.type = 'normal' AND m.tm_delete IS NULL"
    "   AND m.tm_create > p.tm_read AND m.agent_id IS DISTINCT FROM p.agent_id) AS unread"
    " FROM talk_participants p JOIN talks t ON t.id = p.talk_id AND t.tm_delete IS NULL"
    " WHERE p.customer_id = $1 AND p.status = 'active'"
)


async def unread(
    customer_id: str, *, agent_id: str | None = None, talk_id: str | None = None
) -> list[UnreadRow]:
    """Others' normal messages since each active participant last read its live talk: of
    one agent (by talk), one talk (by agent), or one agent in one talk."""
    conditions, args = [], [customer_id]
    for column, value in (("p.agent_id", agent_id), ("p.talk_id", talk_id)):
        if value is not None:
            args.append(value)
            conditions.append(f" AND {column} = ${len(args)}::uuid")
    query = _UNREAD + "".join(conditions) + " ORDER BY p.talk_id"
    return await sql.fetch_as(UnreadRow, query, *args)


async def unread_totals(customer_id: str, agent_ids: list[str]) -> dict[str, int]:
    """Each agent's unread messages over all its live talks (agents with none left out)."""
    records = await sql.fetch(
        "SELECT p.agent_id, count(m.id) AS unread FROM talk_participants p"
        " JOIN talks t ON t.id = p.talk_id AND t.tm_delete IS NULL"
        " JOIN talk_messages m ON m.talk_id = p.talk_id AND m.type = 'normal'"
        "  AND m.tm_delete IS NULL AND m.tm_create > p.tm_read"
        "  AND m.agent_id IS DISTINCT FROM p.agent_id"
        " WHERE p.customer_id = $1 AND p.status = 'active' AND p.agent_id = ANY($2::uuid[])"
        " GROUP BY p.agent_id",
        customer_id,
        agent_ids,
    )
    return {str(r["agent_id"]): r["unread"] for r in records}


async def lock_direct_pair(direct_key: str) -> None:
    """One creator at a time per pair of agents, until the transaction ends."""
    await sql.execute("SELECT pg_advisory_xact_lock(hashtext($1))", direct_key)


# --- the query builder --------------------------------------------------------------------


def _messages(rows: list[dict]) -> list[MessageRow]:
    return typed.as_rows(MessageRow, rows)


async def live_direct(customer_id: str, direct_key: str) -> str | None:
    """The live direct talk of this pair of agents."""
    row = (
        await Talk.select(Talk.id)
        .where(
            Talk.customer_id == customer_id,
            Talk.direct_key == direct_key,
            Talk.tm_delete.is_null(),
        )
        .first()
    )
    return str(row["id"]) if row else None


async def insert_talk(
    customer_id: str,
    type: TalkType,
    name: str,
    detail: str,
    creator_id: str,
    direct_key: str | None,
    agent_ids: list[str],
    at: datetime,
) -> TalkRow:
    """A new active talk with `agent_ids` as its active participants, all joined at `at`."""
    created = await typed.inserted(
        TalkRow,
        Talk(
            customer_id=customer_id,
            type=type.value,
            name=name,
            detail=detail,
            status=TalkStatus.ACTIVE.value,
            creator_id=creator_id,
            direct_key=direct_key,
            tm_create=at,
            tm_update=at,
        ),
    )
    await TalkParticipant.insert(
        *[
            TalkParticipant(
                customer_id=customer_id,
                talk_id=created.id,
                agent_id=agent,
                status=ACTIVE,
                tm_joined=at,
                tm_read=at,
            )
            for agent in agent_ids
        ]
    )
    return created


async def describe(talk_id: str, name: str, detail: str, at: datetime) -> TalkRow:
    return await typed.updated(
        Talk, TalkRow, talk_id, {Talk.name: name, Talk.detail: detail, Talk.tm_update: at}
    )


async def set_status(talk_id: str, status: TalkStatus, at: datetime) -> TalkRow:
    return await typed.updated(
        Talk, TalkRow, talk_id, {Talk.status: status.value, Talk.tm_update: at}
    )


async def soft_delete(talk_id: str, at: datetime) -> TalkRow:
    """Deleted talks are closed too."""
    return await typed.updated(
        Talk,
        TalkRow,
        talk_id,
        {Talk.status: TalkStatus.CLOSED.value, Talk.tm_update: at, Talk.tm_delete: at},
    )


async def join(customer_id: str, talk_id: str, agent_id: str, at: datetime) -> None:
    """The agent is an active participant from `at`; one who had left rejoins (its row is
    reused: one per talk and agent)."""
    await TalkParticipant.insert(
        TalkParticipant(
            customer_id=customer_id,
            talk_id=talk_id,
            agent_id=agent_id,
            status=ACTIVE,
            tm_joined=at,
            tm_left=None,
            tm_read=at,
        )
    ).on_conflict(
        target=(TalkParticipant.talk_id, TalkParticipant.agent_id),
        action="DO UPDATE",
        values=[
            TalkParticipant.status,
            TalkParticipant.tm_joined,
            TalkParticipant.tm_left,
            TalkParticipant.tm_read,
        ],
    )


async def leave(participant_id: str, at: datetime) -> None:
    await TalkParticipant.update(
        {
            TalkParticipant.status: TalkParticipantStatus.LEFT.value,
            TalkParticipant.tm_left: at,
        }
    ).where(TalkParticipant.id == participant_id)


async def talk_page(
    customer_id: str,
    *,
    member: str | None,
    status: TalkStatus | None,
    type: TalkType | None,
    page_size: int,
    page_token: str | None,
) -> tuple[list[TalkRow], str]:
    """The customer's live talks, newest first; with `member`, those where that agent is
    an active participant."""
    where: list[Where] = [Talk.customer_id == customer_id, Talk.tm_delete.is_null()]
    if member is not None:
        where.append(Talk.id.is_in(_member_of(member)))
    if status is not None:
        where.append(Talk.status == status.value)
    if type is not None:
        where.append(Talk.type == type.value)
    return await keyset_page_as(TalkRow, Talk, where, page_size, page_token)


def _member_of(agent_id: str):
    return TalkParticipant.select(TalkParticipant.talk_id).where(
        TalkParticipant.agent_id == agent_id, TalkParticipant.status == ACTIVE
    )


async def recent_talks(customer_id: str, agent_id: str, limit: int = 200) -> list[TalkRow]:
    """The agent's live talks, latest activity (last message, else creation) first."""
    rows = await (
        Talk.select()
        .where(
            Talk.customer_id == customer_id,
            Talk.tm_delete.is_null(),
            Talk.id.is_in(_member_of(agent_id)),
        )
        .order_by(OrderByRaw("coalesce(tm_last_message, tm_create)"), ascending=False)
        .order_by(Talk.id, ascending=False)
        .limit(limit)
    )
    return typed.as_rows(TalkRow, rows)


async def message_page(
    talk_id: str, root_id: str | None, page_size: int, page_token: str | None
) -> tuple[list[MessageRow], str]:
    """Newest first: the live replies of the thread `root_id`, or without it the talk's
    thread roots (a deleted root stays while it has replies)."""
    where: list[Combinable]
    if root_id is not None:
        where = [TalkMessage.parent_id == root_id, TalkMessage.tm_delete.is_null()]
    else:
        where = [
            TalkMessage.talk_id == talk_id,
            TalkMessage.parent_id.is_null(),
            TalkMessage.tm_delete.is_null() | (TalkMessage.reply_count > 0),
        ]
    return await keyset_page_as(MessageRow, TalkMessage, where, page_size, page_token)


async def _update_message(message_id: UUID, values: dict, *where: Where) -> list[MessageRow]:
    rows = (
        await TalkMessage.update(values)
        .where(TalkMessage.id == message_id, *where)
        .returning(*TalkMessage.all_columns())
    )
    return _messages(rows)


async def edit_text(message_id: UUID, text: str, at: datetime) -> MessageRow:
    [row] = await _update_message(message_id, {TalkMessage.text: text, TalkMessage.tm_edit: at})
    return row


async def soft_delete_message(message_id: UUID, at: datetime) -> MessageRow:
    """The text, files and reactions go; the row stays for its thread."""
    [row] = await _update_message(
        message_id, {TalkMessage.text: "", TalkMessage.medias: "[]", TalkMessage.tm_delete: at}
    )
    await TalkReaction.delete().where(TalkReaction.message_id == message_id)
    return row


async def uncount_reply(root_id: UUID) -> MessageRow:
    """The thread's root, with one reply fewer (never below none)."""
    rows = await _update_message(
        root_id, {TalkMessage.reply_count: TalkMessage.reply_count - 1}, TalkMessage.reply_count > 0
    )
    if rows:
        return rows[0]
    return _messages(await TalkMessage.select().where(TalkMessage.id == root_id))[0]


async def medias_in_use(talk_id: str, besides: UUID) -> str:
    """The medias of the talk's other live messages, as their JSON texts."""
    rows = await TalkMessage.select(TalkMessage.medias).where(
        TalkMessage.talk_id == talk_id,
        TalkMessage.id != besides,
        TalkMessage.tm_delete.is_null(),
        TalkMessage.medias != "[]",
    )
    return " ".join(r["medias"] for r in rows)


async def talk_of_message(customer_id: str, message_id: str) -> str | None:
    row = (
        await TalkMessage.select(TalkMessage.talk_id)
        .where(TalkMessage.id == message_id, TalkMessage.customer_id == customer_id)
        .first()
    )
    return str(row["talk_id"]) if row else None


async def add_reaction(
    customer_id: str, message_id: UUID, agent_id: str, emoji: str, at: datetime
) -> bool:
    """False when the agent had this reaction already."""
    rows = (
        await TalkReaction.insert(
            TalkReaction(
                customer_id=customer_id,
                message_id=message_id,
                agent_id=agent_id,
                emoji=emoji,
                tm_create=at,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(TalkReaction.id)
    )
    return bool(rows)


async def remove_reaction(message_id: UUID, agent_id: str, emoji: str) -> bool:
    """False when the agent had no such reaction."""
    rows = (
        await TalkReaction.delete()
        .where(
            TalkReaction.message_id == message_id,
            TalkReaction.agent_id == agent_id,
            TalkReaction.emoji == emoji,
        )
        .returning(TalkReaction.id)
    )
    return bool(rows)

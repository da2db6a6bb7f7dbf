"""The surveys' and ratings' SQL (`csat_surveys`, `csat_responses`), as typed rows.

Plain SQL where the builder cannot say it or a hot path runs it: scheduling at a close
(`ON CONFLICT … DO UPDATE … WHERE`), the worker's claim (`FOR NO KEY UPDATE OF s, c SKIP
LOCKED`), and the inbound path's lookup of a survey awaiting a text answer. The API's list
uses the query builder.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
from piccolo.columns.combination import Combinable, WhereRaw

from app.conversations.store import RoomRow
from app.core.pagination import keyset_page_as
from app.db import sql
from app.db.tables import CsatResponse

SCHEDULED = "scheduled"
SENT = "sent"
ANSWERED = "answered"
CANCELED = "canceled"
"""The room was open again when the survey was due; closing it again schedules it anew."""
SKIPPED = "skipped"
"""Nobody left to ask when it was due: the account or the participant is gone, or the
account's surveys were turned off."""


class SurveyRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    account_id: uuid.UUID
    participant_id: uuid.UUID
    target_type: str
    target: str
    contact_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    reference_type: str
    question: str
    status: str
    due_at: datetime
    sent_at: datetime | None
    message_id: uuid.UUID | None
    tm_create: datetime
    tm_update: datetime


class ResponseRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    contact_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    reference_type: str
    rating: int
    comment: str
    tm_create: datetime


class ResponseFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Every condition is optional; those given must all hold."""

    viewer: str | None = None
    """An agent who sees only the ratings of rooms assigned to it and of unassigned ones
    (the room rule); None for admins and managers."""
    since: datetime | None = None
    until: datetime | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    rating: int | None = None


_SURVEY = ", ".join(SurveyRow.__struct_fields__)
_S_SURVEY = ", ".join(f"s.{f}" for f in SurveyRow.__struct_fields__)
_C_ROOM = ", ".join(f"c.{f} AS c_{f}" for f in RoomRow.__struct_fields__)
_RESPONSE = ", ".join(ResponseRow.__struct_fields__)


# --- surveys ----------------------------------------------------------------------------


async def schedule(
    *,
    customer_id: uuid.UUID,
    conversation_id: uuid.UUID,
    account_id: uuid.UUID,
    participant_id: uuid.UUID,
    target_type: str,
    target: str,
    contact_id: uuid.UUID | None,
    agent_id: uuid.UUID | None,
    due_at: datetime,
    at: datetime,
) -> SurveyRow | None:
    """The room's survey, due at `due_at`: a new one, or one cancelled because the room
    was reopened before it went out. A room whose survey is scheduled, sent or answered
    already keeps it (None): one survey per room, ever."""
    return await sql.fetchrow_as(
        SurveyRow,
        "INSERT INTO csat_surveys (id, customer_id, conversation_id, account_id,"
        " participant_id, target_type, target, contact_id, agent_id, due_at, tm_create,"
        " tm_update)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
        " ON CONFLICT (conversation_id) DO UPDATE SET account_id = excluded.account_id,"
        " participant_id = excluded.participant_id, target_type = excluded.target_type,"
        " target = excluded.target, contact_id = excluded.contact_id,"
        " agent_id = excluded.agent_id, due_at = excluded.due_at, status = 'scheduled',"
        " tm_update = excluded.tm_update"
        " WHERE csat_surveys.status = 'canceled'"
        f" RETURNING {_SURVEY}",
        uuid.uuid4(),
        customer_id,
        conversation_id,
        account_id,
        participant_id,
        target_type,
        target,
        contact_id,
        agent_id,
        due_at,
        at,
    )


async def claim_due(at: datetime, limit: int) -> list[tuple[SurveyRow, RoomRow]]:
    """Up to `limit` surveys due at `at`, with their rooms, both locked. SKIP LOCKED: two
    workers never wait for each other, and a room an agent is changing right now is left
    for the next round."""
    records = await sql.fetch(
        f"SELECT {_S_SURVEY}, {_C_ROOM} FROM csat_surveys s"
        " JOIN conversations c ON c.id = s.conversation_id"
        " WHERE s.status = 'scheduled' AND s.due_at <= $1"
        " ORDER BY s.due_at LIMIT $2 FOR NO KEY UPDATE OF s, c SKIP LOCKED",
        at,
        limit,
    )
    return [
        (
            SurveyRow(**{f: r[f] for f in SurveyRow.__struct_fields__}),
            RoomRow(**{f: r["c_" + f] for f in RoomRow.__struct_fields__}),
        )
        for r in records
    ]


async def mark_sent(
    survey_id: uuid.UUID,
    *,
    reference_type: str,
    question: str,
    message_id: str | None,
    at: datetime,
) -> SurveyRow:
    return await sql.returned(
        SurveyRow,
        "UPDATE csat_surveys SET status = 'sent', reference_type = $2, question = $3,"
        f" message_id = $4, sent_at = $5, tm_update = $5 WHERE id = $1 RETURNING {_SURVEY}",
        survey_id,
        reference_type,
        question,
        message_id,
        at,
    )


async def set_status(survey_id: uuid.UUID, status: str, at: datetime) -> None:
    await sql.execute(
        "UPDATE csat_surveys SET status = $2, tm_update = $3 WHERE id = $1", survey_id, status, at
    )


async def by_id(survey_id: str) -> SurveyRow | None:
    return await sql.fetchrow_as(
        SurveyRow, f"SELECT {_SURVEY} FROM csat_surveys WHERE id = $1", survey_id
    )


async def lock(survey_id: uuid.UUID) -> SurveyRow | None:
    """The survey, locked (after its room: the services' order)."""
    return await sql.fetchrow_as(
        SurveyRow, f"SELECT {_SURVEY} FROM csat_surveys WHERE id = $1 FOR UPDATE", survey_id
    )


async def awaiting_text(
    customer_id: str, target_type: str, target: str, since: datetime
) -> SurveyRow | None:
    """The latest survey sent to this address since `since` and not answered, unless the
    customer has opened a room after it (they moved on: a later digit is not its answer).
    One probe of `csat_surveys_awaiting`; the inbound path asks only for a message that
    reads like a rating and found no open room."""
    return await sql.fetchrow_as(
        SurveyRow,
        f"SELECT {_S_SURVEY} FROM csat_surveys s"
        " WHERE s.customer_id = $1 AND s.target_type = $2 AND s.target = $3"
        " AND s.status = 'sent' AND s.sent_at >= $4"
        " AND NOT EXISTS (SELECT 1 FROM participants p"
        " JOIN conversations c ON c.id = p.conversation_id"
        " WHERE p.customer_id = $1 AND p.type = $2 AND p.target = $3"
        " AND c.tm_create > s.sent_at)"
        " ORDER BY s.sent_at DESC LIMIT 1",
        customer_id,
        target_type,
        target,
        since,
    )


async def awaiting_visitor(
    account_id: uuid.UUID, visitor_id: str, since: datetime
) -> SurveyRow | None:
    """The latest web chat survey shown to this visitor since `since` and not answered."""
    return await sql.fetchrow_as(
        SurveyRow,
        f"SELECT {_SURVEY} FROM csat_surveys"
        " WHERE account_id = $1 AND target_type = 'webchat' AND target = $2"
        " AND status = 'sent' AND sent_at >= $3 ORDER BY sent_at DESC LIMIT 1",
        account_id,
        visitor_id,
        since,
    )


# --- responses --------------------------------------------------------------------------


async def insert_response(
    survey: SurveyRow, rating: int, comment: str, at: datetime
) -> ResponseRow | None:
    """The room's rating; None when the room has one already (the unique index)."""
    return await sql.fetchrow_as(
        ResponseRow,
        "INSERT INTO csat_responses (id, customer_id, conversation_id, contact_id,"
        " agent_id, reference_type, rating, comment, tm_create)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        f" ON CONFLICT (conversation_id) DO NOTHING RETURNING {_RESPONSE}",
        uuid.uuid4(),
        survey.customer_id,
        survey.conversation_id,
        survey.contact_id,
        survey.agent_id,
        survey.reference_type,
        rating,
        comment,
        at,
    )


async def response_of_room(room_id: uuid.UUID | str) -> ResponseRow | None:
    return await sql.fetchrow_as(
        ResponseRow, f"SELECT {_RESPONSE} FROM csat_responses WHERE conversation_id = $1", room_id
    )


def _visible(viewer: str | None) -> list[Combinable]:
    if viewer is None:
        return []
    return [
        WhereRaw(
            "EXISTS (SELECT 1 FROM conversations c WHERE c.id = csat_responses.conversation_id"
            " AND (c.owner_id IS NULL OR c.owner_id = {}))",
            viewer,
        )
    ]


async def response(customer_id: str, response_id: str, viewer: str | None) -> ResponseRow | None:
    found = (
        await CsatResponse.select(
            *[CsatResponse._meta.get_column_by_name(f) for f in ResponseRow.__struct_fields__]
        )
        .where(
            CsatResponse.id == response_id,
            CsatResponse.customer_id == customer_id,
            *_visible(viewer),
        )
        .first()
    )
    return None if found is None else ResponseRow(**found)


async def page(
    customer_id: str, f: ResponseFilter, page_size: int, page_token: str | None
) -> tuple[list[ResponseRow], str]:
    """The customer's ratings matching `f`, newest first (index csat_responses_list)."""
    where: list[Combinable] = [CsatResponse.customer_id == customer_id, *_visible(f.viewer)]
    if f.since is not None:
        where.append(CsatResponse.tm_create >= f.since)
    if f.until is not None:
        where.append(CsatResponse.tm_create < f.until)
    if f.conversation_id is not None:
        where.append(CsatResponse.conversation_id == f.conversation_id)
    if f.agent_id is not None:
        where.append(CsatResponse.agent_id == f.agent_id)
    if f.rating is not None:
        where.append(CsatResponse.rating == f.rating)
    return await keyset_page_as(ResponseRow, CsatResponse, where, page_size, page_token)

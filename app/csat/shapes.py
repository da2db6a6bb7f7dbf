"""The survey and rating resources as the API shows them, and the events that carry them
(on the room's topic, for the room's audience, like the room's own events)."""

from __future__ import annotations

import uuid

from app.core.events import record_event
from app.csat.store import ResponseRow, SurveyRow
from app.domain.enums import EventType
from app.domain.principal import room_audience
from app.domain.resources import CsatResponseOut, CsatSurveyOut
from app.domain.timefmt import fmt
from app.domain.topics import conversation_topic


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def response_out(row: ResponseRow) -> CsatResponseOut:
    return CsatResponseOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        conversation_id=str(row.conversation_id),
        contact_id=_id(row.contact_id),
        agent_id=_id(row.agent_id),
        reference_type=row.reference_type,
        rating=row.rating,
        comment=row.comment,
        tm_create=fmt(row.tm_create),
    )


def survey_out(row: SurveyRow) -> CsatSurveyOut:
    return CsatSurveyOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        conversation_id=str(row.conversation_id),
        contact_id=_id(row.contact_id),
        agent_id=_id(row.agent_id),
        reference_type=row.reference_type,
        target=row.target,
        question=row.question,
        status=row.status,
        message_id=_id(row.message_id),
        tm_due=fmt(row.due_at),
        tm_sent=fmt(row.sent_at),
    )


async def survey_event(row: SurveyRow, owner_id: uuid.UUID | None) -> CsatSurveyOut:
    out = survey_out(row)
    await record_event(
        out.customer_id,
        EventType.CSAT_SURVEY_SENT,
        out,
        [conversation_topic(out.customer_id, out.conversation_id)],
        room_audience(owner_id),
    )
    return out


async def response_event(row: ResponseRow, owner_id: uuid.UUID | None) -> CsatResponseOut:
    out = response_out(row)
    await record_event(
        out.customer_id,
        EventType.CSAT_RESPONSE_CREATED,
        out,
        [conversation_topic(out.customer_id, out.conversation_id)],
        room_audience(owner_id),
    )
    return out

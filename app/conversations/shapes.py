"""The room resource as the API shows it, and the event that carries it. Kept apart from
`conversations.service` so that routing (app/routing/engine.py), which the service calls,
can write room events without importing the service back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from app.conversations import store
from app.conversations.store import ParticipantRow, RoomRow
from app.core.events import record_event
from app.domain.enums import EventType
from app.domain.principal import room_audience
from app.domain.resources import ConversationOut, ParticipantOut, SlaSummaryOut
from app.domain.timefmt import fmt
from app.domain.topics import conversation_topic


def participant_out(row: ParticipantRow) -> ParticipantOut:
    return ParticipantOut(
        id=str(row.id),
        type=row.type,
        target=row.target,
        target_name=row.target_name,
        name=row.name,
        detail=row.detail,
        contact_id=str(row.contact_id) if row.contact_id else None,
    )


def conversation_out(
    row: RoomRow, participants: list[ParticipantRow], queue_position: int | None = None
) -> ConversationOut:
    """`queue_position`: the room's place in its team's queue (store.queue_positions),
    when it waits."""
    return ConversationOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        name=row.name,
        detail=row.detail,
        status=row.status,
        reference_type=row.reference_type,
        reference_id=row.reference_id,
        account_id=str(row.account_id) if row.account_id else None,
        owner_type=row.owner_type,
        owner_id=str(row.owner_id) if row.owner_id else None,
        team_id=str(row.team_id) if row.team_id else None,
        priority=row.priority,
        assignment_reason=row.assignment_reason,
        queue_position=queue_position if row.tm_queued is not None else None,
        snoozed_until=fmt(row.snoozed_until) if row.snoozed_until else None,
        snooze_until_reply=row.snooze_until_reply,
        merged_into=str(row.merged_into) if row.merged_into else None,
        csat=row.csat,
        sla=sla_summary(row),
        tags=list(row.tags or []),
        participants=[participant_out(p) for p in participants],
        contact_ids=list(dict.fromkeys(str(p.contact_id) for p in participants if p.contact_id)),
        last_message=row.last_message,
        tm_last_message=fmt(row.tm_last_message) if row.tm_last_message else None,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


def sla_summary(row: RoomRow) -> SlaSummaryOut | None:
    """The room's most pressing SLA clock, as its row keeps it (app/sla/tracking.py)."""
    if row.sla_kind is None or row.sla_status is None:
        return None
    return SlaSummaryOut(
        kind=row.sla_kind,
        status=row.sla_status,
        due=fmt(row.sla_due_at) if row.sla_due_at else None,
    )


async def rooms_out(rows: list[RoomRow]) -> list[ConversationOut]:
    """Several rooms, with their participants and queue positions, in three queries at
    most."""
    people = await store.live_participants([r.id for r in rows])
    positions: Mapping[str, int] = await store.queue_positions(rows)
    return [conversation_out(r, people[str(r.id)], positions.get(str(r.id))) for r in rows]


async def room_out(row: RoomRow) -> ConversationOut:
    return (await rooms_out([row]))[0]


async def room_event(
    type: EventType, room: ConversationOut, *previous_owners: uuid.UUID | str | None
) -> None:
    await record_event(
        room.customer_id,
        type,
        room,
        [conversation_topic(room.customer_id, room.id)],
        room_audience(room.owner_id, *previous_owners),
    )

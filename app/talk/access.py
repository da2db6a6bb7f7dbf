"""A talk as one agent reaches it, and the talk events: what the talk's services
(`talk.service` for talks and people, `talk.messages` for the stream) both stand on."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from app.core.events import record_event
from app.core.ids import parse_id
from app.domain.enums import EventType, TalkStatus
from app.domain.errors import Conflict, NotFound
from app.domain.principal import Principal
from app.domain.resources import TalkOut, TalkParticipantOut
from app.domain.timefmt import fmt
from app.domain.topics import talk_topic
from app.talk import store as talk_store
from app.talk.store import ACTIVE, ParticipantRow, TalkRow


def participant_out(row: ParticipantRow) -> TalkParticipantOut:
    return TalkParticipantOut(
        id=str(row.id),
        talk_id=str(row.talk_id),
        agent_id=str(row.agent_id),
        status=row.status,
        tm_joined=fmt(row.tm_joined),
        tm_left=fmt(row.tm_left) if row.tm_left else None,
    )


def talk_out(row: TalkRow, participants: list[ParticipantRow]) -> TalkOut:
    return TalkOut(
        id=str(row.id),
        customer_id=str(row.customer_id),
        type=row.type,
        name=row.name,
        detail=row.detail,
        status=row.status,
        creator_id=str(row.creator_id) if row.creator_id else None,
        member_count=sum(1 for p in participants if p.status == ACTIVE),
        participants=[participant_out(p) for p in participants],
        tm_last_message=fmt(row.tm_last_message) if row.tm_last_message else None,
        tm_create=fmt(row.tm_create),
        tm_update=fmt(row.tm_update),
        tm_delete=fmt(row.tm_delete),
    )


class TalkAccess(msgspec.Struct, frozen=True):
    """A talk as one principal (`agent_id`) reaches it: its row and its participants."""

    row: TalkRow
    participants: list[ParticipantRow]
    agent_id: str

    @property
    def id(self) -> str:
        return str(self.row.id)

    @property
    def customer_id(self) -> str:
        return str(self.row.customer_id)

    @property
    def member(self) -> bool:
        """Whether the principal is one of the talk's active participants."""
        return self.agent_id in self.active_agents

    @property
    def active_agents(self) -> list[str]:
        return [str(p.agent_id) for p in self.participants if p.status == ACTIVE]

    @property
    def closed(self) -> bool:
        return self.row.status == TalkStatus.CLOSED

    def participant(self, agent_id: str) -> ParticipantRow | None:
        """The agent's participant row (active or left)."""
        return next((p for p in self.participants if str(p.agent_id) == agent_id), None)

    def out(self) -> TalkOut:
        return talk_out(self.row, self.participants)


async def _access(row: TalkRow, agent_id: str) -> TalkAccess:
    participants = (await talk_store.participants_of([row.id]))[str(row.id)]
    return TalkAccess(row, participants, agent_id)


async def reach(
    principal: Principal,
    talk_id: str,
    *,
    as_admin: bool = False,
    write: bool = False,
    lock: bool = False,
) -> TalkAccess:
    """The live talk `talk_id` if the principal is an active participant — or, with
    `as_admin`, an admin of its customer; else NotFound. `write` refuses a closed talk;
    `lock` takes the talk's row lock (inside a transaction) so that membership changes
    and closing happen one at a time."""
    talk_id = parse_id(talk_id, "talk_not_found", "talk")
    row = await talk_store.talk(principal.customer_id, talk_id, lock=lock)
    if row is None:
        raise NotFound("talk_not_found", "There is no such talk.")
    access = await _access(row, principal.agent_id)
    if not access.member and not (as_admin and principal.is_admin):
        raise NotFound("talk_not_found", "There is no such talk.")
    if write and access.closed:
        raise Conflict("talk_closed", "This talk is closed; reopen it first.")
    return access


async def talk_event(
    type: EventType,
    customer_id: str,
    payload: msgspec.Struct,
    agents: Iterable[str],
    talk_id: str,
) -> None:
    """Record a talk event for `agents` (its participants, plus anyone who just left):
    one topic per agent, VoIPBIN's `agent_id:<aid>:talk:<id>`."""
    audience = sorted(set(agents))
    await record_event(
        customer_id,
        type,
        payload,
        topics=[talk_topic(a, talk_id) for a in audience],
        audience=audience,
    )

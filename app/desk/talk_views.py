"""Read models for the desk's Talk area: the talk list's rows (titled for the viewer, with
unread counts), a talk as it is now (for live pushes, deleted ones included), every
connected agent's total unread (the nav dot), and the names messages show.

The services in talks.py / talk_messages.py answer the API; the desk needs a few joins
they do not make, kept here so the web controller and the desk socket stay thin."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.principal import Principal
from app.domain.resources import TalkMessageOut, TalkOut
from app.domain.timefmt import LIVE
from app.people import agents
from app.talk import messages as talk_messages
from app.talk import service as talks
from app.talk import store as talk_store


@dataclass
class TalkRow:
    talk: TalkOut
    title: str
    """A group's name; a direct talk's other agent."""
    members: list[str]
    """Active participants' names, for the header."""
    unread: int
    tm_activity: str

    @property
    def id(self) -> str:
        return self.talk.id


def is_deleted(value: TalkOut | TalkMessageOut) -> bool:
    return value.tm_delete != LIVE


def active_agents(talk: TalkOut) -> list[str]:
    return [p.agent_id for p in talk.participants if p.status == "active"]


def title_for(talk: TalkOut, names: dict[str, str], viewer: str) -> str:
    if talk.type == "direct":
        others = [a for a in active_agents(talk) if a != viewer] or [
            p.agent_id for p in talk.participants if p.agent_id != viewer
        ]
        return names.get(others[0], "Direct talk") if others else "Direct talk"
    return talk.name or "Group"


def make_row(talk: TalkOut, names: dict[str, str], viewer: str, unread: int) -> TalkRow:
    return TalkRow(
        talk=talk,
        title=title_for(talk, names, viewer),
        members=[names.get(a, "?") for a in active_agents(talk)],
        unread=unread,
        tm_activity=talk.tm_last_message or talk.tm_create,
    )


async def talk_rows(principal: Principal) -> list[TalkRow]:
    """The principal's live talks, newest activity first, with its unread counts."""
    found = await talks.talks_out(
        await talk_store.recent_talks(principal.customer_id, principal.agent_id)
    )
    unread = {u.talk_id: u.unread_count for u in await talk_messages.unread(principal)}
    names = await agents.names(
        principal.customer_id, {p.agent_id for t in found for p in t.participants}
    )
    return [make_row(t, names, principal.agent_id, unread.get(t.id, 0)) for t in found]


async def talk_state(customer_id: str, talk_id: str) -> tuple[TalkOut, dict[str, str]] | None:
    """A talk as it is now, deleted or not, and its participants' names (live pushes)."""
    row = await talk_store.talk(customer_id, talk_id, deleted=True)
    if row is None:
        return None
    [talk] = await talks.talks_out([row])
    return talk, await agents.names(customer_id, [p.agent_id for p in talk.participants])


async def unread_totals(customer_id: str, agent_ids: Iterable[str]) -> dict[str, int]:
    """Each agent's unread messages over all its talks, in one query (the nav dot)."""
    ids = sorted(set(agent_ids))
    if not ids:
        return {}
    found = {a: 0 for a in ids}
    found.update(await talk_store.unread_totals(customer_id, ids))
    return found


async def unread_total(principal: Principal) -> int:
    return (await unread_totals(principal.customer_id, [principal.agent_id]))[principal.agent_id]


async def names_for(customer_id: str, messages: Iterable[TalkMessageOut]) -> dict[str, str]:
    """Authors' and reactors' names for a set of messages."""
    ids: set[str] = set()
    for m in messages:
        if m.agent_id:
            ids.add(m.agent_id)
        for r in m.reactions:
            ids.update(r.agent_ids)
    return await agents.names(customer_id, ids) if ids else {}

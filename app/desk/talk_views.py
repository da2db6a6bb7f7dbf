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
    peer_id: str | None = None
    """A direct talk's other agent (its avatar); None for a group."""
    last_author: str = ""
    """The talk's newest message, for the list's preview: who wrote it ("You" for the
    viewer) and its first words (files only: how many); "" when there is none."""
    last_text: str = ""

    @property
    def id(self) -> str:
        return self.talk.id


def is_deleted(value: TalkOut | TalkMessageOut) -> bool:
    return value.tm_delete != LIVE


def active_agents(talk: TalkOut) -> list[str]:
    return [p.agent_id for p in talk.participants if p.status == "active"]


def peer_of(talk: TalkOut, viewer: str) -> str | None:
    """A direct talk's other agent, as the viewer sees it."""
    if talk.type != "direct":
        return None
    others = [a for a in active_agents(talk) if a != viewer] or [
        p.agent_id for p in talk.participants if p.agent_id != viewer
    ]
    return others[0] if others else None


def title_for(talk: TalkOut, names: dict[str, str], viewer: str) -> str:
    if talk.type == "direct":
        peer = peer_of(talk, viewer)
        return names.get(peer, "Direct talk") if peer else "Direct talk"
    return talk.name or "Group"


PREVIEW_CHARS = 140
"""The preview's length: more than a list column shows (CSS ends it with "…" where the
column does), little enough that the list of 200 talks stays small."""


def preview(message: TalkMessageOut | None) -> str:
    """A message's first words on one line: its text with runs of whitespace as one
    space, cut at PREVIEW_CHARS with "…"; for files only, how many."""
    if message is None:
        return ""
    text = " ".join(message.text.split())
    if not text and message.medias:
        count = len(message.medias)
        return f"📎 {count} file" + ("" if count == 1 else "s")
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    return text


def make_row(
    talk: TalkOut,
    names: dict[str, str],
    viewer: str,
    unread: int,
    last: TalkMessageOut | None = None,
) -> TalkRow:
    author = ""
    if last is not None:
        author = "You" if last.agent_id == viewer else names.get(last.agent_id or "", "Someone")
    return TalkRow(
        talk=talk,
        title=title_for(talk, names, viewer),
        members=[names.get(a, "?") for a in active_agents(talk)],
        unread=unread,
        tm_activity=talk.tm_last_message or talk.tm_create,
        peer_id=peer_of(talk, viewer),
        last_author=author,
        last_text=preview(last),
    )


async def last_messages(talk_ids: Iterable[str]) -> dict[str, TalkMessageOut]:
    """Each talk's newest live message (thread replies included), for the list's preview."""
    found = await talk_store.last_messages(talk_ids)
    return {t: talk_messages.message_out(row) for t, row in found.items()}


async def talk_rows(principal: Principal) -> list[TalkRow]:
    """The principal's live talks, newest activity first, with its unread counts."""
    found = await talks.talks_out(
        await talk_store.recent_talks(principal.customer_id, principal.agent_id)
    )
    unread = {u.talk_id: u.unread_count for u in await talk_messages.unread(principal)}
    last = await last_messages(t.id for t in found)
    ids = {p.agent_id for t in found for p in t.participants}
    ids.update(m.agent_id for m in last.values() if m.agent_id)  # a former participant
    names = await agents.names(principal.customer_id, ids)
    return [
        make_row(t, names, principal.agent_id, unread.get(t.id, 0), last.get(t.id)) for t in found
    ]


async def talk_state(
    customer_id: str, talk_id: str
) -> tuple[TalkOut, dict[str, str], TalkMessageOut | None] | None:
    """A talk as it is now, deleted or not, its participants' names and its newest
    message (live pushes: a new, edited or deleted message changes the list's preview)."""
    row = await talk_store.talk(customer_id, talk_id, deleted=True)
    if row is None:
        return None
    [talk] = await talks.talks_out([row])
    last = (await last_messages([talk_id])).get(talk_id)
    ids = {p.agent_id for p in talk.participants}
    if last is not None and last.agent_id:
        ids.add(last.agent_id)
    return talk, await agents.names(customer_id, ids), last


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

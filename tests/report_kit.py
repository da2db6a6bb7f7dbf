"""A generated history for the reports: rooms, messages, close events, SLA clocks and survey
answers written straight into the tables (as bulk-loaded data would be), then the facts
counted from them (`reports.volume.recount_all`). The generator also keeps, in Python, what it
made, so a test can check figures against what it knows as well as against SQL."""

from __future__ import annotations

import json
import random
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
from conftest import run_async

CHANNELS = ("message", "email", "line", "webchat", "whatsapp")
KINDS = ("first_response", "next_response", "resolution")


@dataclass
class Room:
    id: str
    name: str
    team_id: str | None
    owner_id: str | None
    reference_type: str
    opened: datetime
    first_inbound: datetime | None = None
    first_reply: datetime | None = None
    first_reply_agent: str | None = None
    closed: datetime | None = None
    deleted: bool = False
    merged: bool = False
    inbound: list[datetime] = field(default_factory=list)
    replies: list[tuple[datetime, str]] = field(default_factory=list)
    csat: tuple[int, str | None, datetime] | None = None
    """(rating, agent rated, when)"""
    clocks: list[tuple[str, str, str, datetime | None]] = field(default_factory=list)
    """(policy id, kind, status, stopped_at)"""

    @property
    def counted(self) -> bool:
        """In the reports: neither deleted nor merged into another room."""
        return not self.deleted and not self.merged


@dataclass
class History:
    customer_id: str
    end: datetime
    """Everything happened before this; [end - 31 days, end) holds it all."""
    teams: dict[str, str]
    """name → id"""
    agents: list[str]
    policies: dict[str, str]
    """name → id"""
    rooms: list[Room]

    def counted(self, **match) -> list[Room]:
        return [
            r for r in self.rooms if r.counted and all(getattr(r, k) == v for k, v in match.items())
        ]


def median_first_response(rooms: list[Room], start: datetime, end: datetime) -> float | None:
    secs = [
        (r.first_reply - r.first_inbound).total_seconds()
        for r in rooms
        if r.first_reply and r.first_inbound and start <= r.opened < end
    ]
    return statistics.median(secs) if secs else None


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(db_url: str, tenant, rooms: int = 300, seed: int = 7) -> History:
    """`rooms` rooms of `tenant` over the 30 days before the next full hour, in two teams
    and none, on every channel, held by the tenant's agent, its manager or nobody, under
    two SLA policies."""
    rnd = random.Random(seed)
    end = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    teams = {"Billing": str(uuid.uuid4()), "Support": str(uuid.uuid4())}
    policies = {"Standard": str(uuid.uuid4()), "Urgent": str(uuid.uuid4())}
    agents = [tenant.agent_id, tenant.manager_id]
    made: list[Room] = []
    for i in range(rooms):
        opened = end - timedelta(
            seconds=rnd.randint(4 * 86400, 30 * 86400), microseconds=rnd.randint(0, 999_999)
        )
        room = Room(
            id=str(uuid.uuid4()),
            name=f"Room {i}",
            team_id=rnd.choice([None, *teams.values()]),
            owner_id=rnd.choice([None, *agents]),
            reference_type=rnd.choice(CHANNELS),
            opened=opened,
        )
        t = opened
        agent_first = rnd.random() < 0.1  # an agent wrote first: that is no response
        if agent_first:
            t += timedelta(seconds=rnd.randint(1, 30))
            room.replies.append((t, rnd.choice(agents)))
        for _ in range(rnd.randint(0 if agent_first else 1, 4)):
            t += timedelta(seconds=rnd.randint(5, 4 * 3600), microseconds=rnd.randint(0, 999_999))
            room.inbound.append(t)
            if rnd.random() < 0.8:
                t += timedelta(seconds=rnd.randint(10, 6 * 3600), microseconds=rnd.randint(1, 999))
                room.replies.append((t, rnd.choice(agents)))
        if room.inbound:
            room.first_inbound = room.inbound[0]
            after = [(at, a) for at, a in room.replies if at >= room.first_inbound]
            if after:
                room.first_reply, room.first_reply_agent = after[0]
        if rnd.random() < 0.6:
            room.closed = t + timedelta(seconds=rnd.randint(60, 86400))
        room.deleted = rnd.random() < 0.03
        room.merged = rnd.random() < 0.03
        if room.merged:  # its messages went into the room it was merged into
            room.inbound, room.replies = [], []
            room.first_inbound = room.first_reply = room.first_reply_agent = None
        if room.closed and rnd.random() < 0.5:
            room.csat = (
                rnd.randint(1, 5),
                rnd.choice([None, *agents]),
                room.closed + timedelta(minutes=rnd.randint(1, 600)),
            )
        for kind in KINDS:
            if rnd.random() < 0.7:
                status = rnd.choice(["met", "met", "breached", "running"])
                stopped = None
                if status != "running":
                    stopped = opened + timedelta(minutes=rnd.randint(1, 3000))
                room.clocks.append((rnd.choice(list(policies.values())), kind, status, stopped))
        made.append(room)
    history = History(tenant.customer_id, end, teams, agents, policies, made)
    run_async(_write(db_url, history, rnd))
    run_async(_rebuild(tenant.customer_id))
    return history


async def _rebuild(customer_id: str) -> None:
    from app.reports import volume

    await volume.recount_all(customer_id)


async def _write(db_url: str, h: History, rnd: random.Random) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO teams (id, customer_id, name) VALUES ($1, $2, $3)",
                [(team_id, h.customer_id, name) for name, team_id in h.teams.items()],
            )
            await conn.executemany(
                "INSERT INTO sla_policies (id, customer_id, name, first_response_minutes)"
                " VALUES ($1, $2, $3, 15)",
                [(policy_id, h.customer_id, name) for name, policy_id in h.policies.items()],
            )
            rooms, messages, events, clocks, answers = [], [], [], [], []

            def message(r: Room, direction: str, status: str, agent: str | None, at: datetime):
                messages.append(
                    (str(uuid.uuid4()), h.customer_id, r.id, direction, status,
                     r.reference_type, agent, at)
                )  # fmt: skip

            def closed_event(r: Room, at: datetime):
                payload = {"id": r.id, "status": "closed", "tm_update": _stamp(at)}
                events.append((h.customer_id, "conversation_closed", json.dumps(payload), at))

            for r in h.rooms:
                last = max([r.opened, *r.inbound, *(at for at, _ in r.replies)])
                status = "closed" if r.closed or r.merged else rnd.choice(["active", "idle"])
                updated = r.closed or last
                rooms.append(
                    (r.id, h.customer_id, r.name, status, r.reference_type, "+1555" + r.id[:6],
                     "agent" if r.owner_id else "", r.owner_id, r.team_id, r.opened, updated,
                     last, updated if r.deleted else None, r.id if r.merged else None)
                )  # fmt: skip
                for at in r.inbound:
                    message(r, "inbound", "done", None, at)
                for at, agent in r.replies:
                    message(r, "outbound", "done", agent, at)
                if r.inbound and rnd.random() < 0.4:
                    # what answers for no one: an integration's reply, a reply still
                    # scheduled, a canceled one — all before the first agent reply
                    at = r.inbound[0] + timedelta(microseconds=1)
                    message(r, "outbound", "done", None, at)
                    message(r, "outbound", rnd.choice(["scheduled", "canceled"]), h.agents[0], at)
                if r.closed:
                    if rnd.random() < 0.2:  # closed before, reopened: the last close counts
                        closed_event(r, r.closed - timedelta(minutes=30))
                    closed_event(r, r.closed)
                elif rnd.random() < 0.1:  # closed once, open again now: not closed
                    closed_event(r, r.opened + timedelta(seconds=30))
                for policy, kind, clock_status, stopped in r.clocks:
                    clocks.append(
                        (h.customer_id, r.id, policy, kind, clock_status, r.opened, stopped)
                    )
                if r.csat:
                    rating, agent, at = r.csat
                    answers.append(
                        (str(uuid.uuid4()), h.customer_id, r.id, agent, r.reference_type,
                         rating, "", at)
                    )  # fmt: skip
            await conn.executemany(
                "INSERT INTO conversations (id, customer_id, name, status, reference_type,"
                " reference_id, owner_type, owner_id, team_id, tm_create, tm_update, tm_activity,"
                " tm_delete, merged_into)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                rooms,
            )
            await conn.executemany(
                "INSERT INTO messages (id, customer_id, conversation_id, direction, status,"
                " reference_type, agent_id, tm_create, tm_update, source, destination)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, '{}', '{}')",
                messages,
            )
            events.sort(key=lambda e: e[3])  # ids in time order, as the stream has them
            await conn.executemany(
                "INSERT INTO events (customer_id, type, topics, payload, audience, tm_create)"
                " VALUES ($1, $2, '{}', $3::json, '{}', $4)",
                events,
            )
            await conn.executemany(
                "INSERT INTO sla_clocks (customer_id, conversation_id, policy_id, kind, status,"
                " started_at, stopped_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                clocks,
            )
            await conn.executemany(
                "INSERT INTO csat_responses (id, customer_id, conversation_id, agent_id,"
                " reference_type, rating, comment, tm_create)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                answers,
            )
    finally:
        await conn.close()

"""Routing at scale: 200 agents in 10 teams, 10,000 open rooms.

    .venv/bin/python bench/routing.py [--arrivals 2000] [--concurrency 10] [--frees 200]
        [--burst 1000] [--ceiling-rows 20000] [--quiet 60]

Every phase runs the services in this process on a pool (like bench/message_throughput.py
(a)), on a fresh database:

(a) what routing adds to an inbound message: `messages.receive()` of a first message from
    a new person (a new room) on a team's channel account, against the same on an account
    of no team; plus `engine.route()`'s own time, measured inside the inbound path. The
    teams have room, so each arrival is an assignment (round robin); then the same into a
    full team (each arrival queued).
(b) a freed slot: a full team with 500 waiting rooms; a room is closed through the service
    (`update_conversation`, status closed) and the queue head must be assigned: the time
    from the close call until the head's assignment is committed (it commits with the
    close), `--frees` times, 4 at once.
(c) 1,000 simultaneous arrivals to a full team (`--burst`): all fired at once
    (`--concurrency` x 5 tasks); none may be lost, every one queued once; then slots are
    freed by closing assigned rooms, 8 at once, until the queue is empty: every room must
    be assigned exactly once (one `conversation.assigned` audit entry each), and no agent
    may hold more rooms than its capacity at any moment (sampled after every close).
(d) the plain-INSERT ceiling of this PostgreSQL (bench/message_throughput.py (c)).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg  # noqa: E402
import harness  # noqa: E402
from harness import (  # noqa: E402
    CpuMeter,
    cpu_line,
    customer_database,
    db_name,
    make_agents,
    percentile,
    summary,
    wait_for_quiet,
)

TEAMS = 10
PER_TEAM = 20
OPEN_ROOMS = 10_000
CAPACITY = 100  # per member: 50 open each at the start, room for the arrivals of (a)


async def seed(url: str, customer_id: str) -> dict:
    """200 agents online in 10 round-robin teams (each with its own SMS account), 10,000
    open rooms spread over them; one account of no team; one full team for (b) and (c)."""
    from app.channels import accounts

    agents = await make_agents(url, customer_id, TEAMS * PER_TEAM + 2 * PER_TEAM)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE agents SET status = 'active', availability = 'online' WHERE customer_id = $1",
            customer_id,
        )
        teams = []
        for t in range(TEAMS + 2):
            members = [a["id"] for a in agents[t * PER_TEAM : (t + 1) * PER_TEAM]]
            full = t >= TEAMS  # the last two: full teams for (a) queued, (b) and (c)
            team_id = await conn.fetchval(
                "INSERT INTO teams (id, customer_id, name, assignment_policy, max_open)"
                " VALUES (gen_random_uuid(), $1, $2, 'round_robin', $3) RETURNING id",
                customer_id,
                f"Team {t}",
                5 if full else CAPACITY,
            )
            await conn.execute(
                "INSERT INTO team_members (customer_id, team_id, agent_id)"
                " SELECT $1, $2, unnest($3::uuid[])",
                customer_id,
                team_id,
                members,
            )
            teams.append({"id": str(team_id), "members": members, "full": full})
    finally:
        await conn.close()
    for t, team in enumerate(teams):
        team["account"] = await accounts.create_account(
            customer_id,
            type="loopback",
            address=f"+1555000{t:04d}",
            settings={"reference_type": "message"},
        )
    conn = await asyncpg.connect(url)
    try:
        for team in teams:
            await conn.execute(
                "INSERT INTO team_accounts (customer_id, team_id, account_id) VALUES ($1, $2, $3)",
                customer_id,
                team["id"],
                team["account"].id,
            )
        # 10,000 open rooms: 50 per member of the ten teams; the full teams' members at 5
        normal = [m for team in teams if not team["full"] for m in team["members"]]
        full = [(team["id"], m) for team in teams if team["full"] for m in team["members"]]
        owners = [(teams[i // PER_TEAM]["id"], m) for i, m in enumerate(normal)]
        rows = [owners[i % len(owners)] for i in range(OPEN_ROOMS - 5 * len(full))]
        rows += [pair for pair in full for _ in range(5)]
        await conn.execute(
            "INSERT INTO conversations (id, customer_id, name, status, reference_type,"
            " reference_id, owner_type, owner_id, team_id, assignment_reason, tm_assigned)"
            " SELECT gen_random_uuid(), $1, 'seeded ' || n, 'active', 'message',"
            " '+1999' || lpad(n::text, 7, '0'), 'agent', o, t, 'seeded', now()"
            " FROM unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY AS r(t, o, n)",
            customer_id,
            [t for t, _ in rows],
            [o for _, o in rows],
        )
        # the steady state autovacuum keeps: statistics, and a visibility map that lets
        # the capacity counts read the open-rooms index alone
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    plain = await accounts.create_account(
        customer_id, type="loopback", address="+15550009999", settings={"reference_type": "message"}
    )
    return {"teams": teams, "plain": plain}


def timed_route():
    """Wrap engine.route_locked (the inbound path calls it through the module) to time
    it."""
    from app.routing import engine

    spent: list[float] = []
    original = engine.route_locked

    async def route(*args, **kwargs):
        t = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - t) * 1000)

    engine.route_locked = route  # type: ignore[assignment]
    return spent, lambda: setattr(engine, "route_locked", original)


async def arrivals(accounts_cycle, n: int, concurrency: int, prefix: str) -> list[float]:
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            account = accounts_cycle[i % len(accounts_cycle)]
            t = time.perf_counter()
            got = await messages.receive(
                account, InboundMessage(peer=f"+1{prefix}555{i:04d}", text=f"hello {i}")
            )
            latencies.append((time.perf_counter() - t) * 1000)
            assert got.new_room

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies


async def phase_a(url: str, seeded: dict, n: int, concurrency: int) -> None:
    normal = [t["account"] for t in seeded["teams"] if not t["full"]]
    full_team = seeded["teams"][TEAMS]
    print(f"(a) inbound first messages (new rooms), {concurrency} at once", flush=True)
    await arrivals([seeded["plain"]], 200, concurrency, "301")  # warm-up: plans, pool
    await arrivals(normal, 200, concurrency, "302")
    wait_for_quiet(limit=QUIET)
    meter = CpuMeter(db_name(url), bench=os.getpid())
    plain = await arrivals([seeded["plain"]], n, concurrency, "303")
    print(summary("  no team (baseline)", plain))
    print(cpu_line(meter.stop()))
    wait_for_quiet(limit=QUIET)
    spent, restore = timed_route()
    meter = CpuMeter(db_name(url), bench=os.getpid())
    try:
        routed = await arrivals(normal, n, concurrency, "304")
    finally:
        restore()
    print(summary("  team channel, assigned (round robin)", routed))
    print(summary("  the routing decision inside it", spent))
    print(cpu_line(meter.stop()))
    added = percentile(routed, 99) - percentile(plain, 99)
    print(
        f"  routing adds {percentile(routed, 50) - percentile(plain, 50):.2f} ms at the median,"
        f" {added:.2f} ms at p99; route() p99 {percentile(spent, 99):.2f} ms"
        f"  [{'ok' if percentile(spent, 99) <= 5 else 'OVER'}: <= 5 ms]"
    )
    wait_for_quiet(limit=QUIET)
    spent, restore = timed_route()
    try:
        queued = await arrivals([full_team["account"]], min(n, 500), concurrency, "305")
    finally:
        restore()
    print(summary("  team channel, full team (queued)", queued))
    print(summary("  the routing decision inside it", spent))


async def close_room(room_id: str, admin) -> None:
    from app.conversations import service as conversations
    from app.domain.enums import ConversationStatus
    from app.domain.resources import ConversationUpdate

    await conversations.update_conversation(
        admin, room_id, ConversationUpdate(status=ConversationStatus.CLOSED)
    )


class Picker:
    """Hands out the team's assigned open rooms to close, each once, over one connection
    (asyncpg runs one statement at a time on it: hence the lock)."""

    def __init__(self, conn: asyncpg.Connection, team: dict) -> None:
        self.conn, self.team = conn, team
        self.lock = asyncio.Lock()
        self.taken: set[str] = set()

    async def next(self) -> str | None:
        async with self.lock:
            row = await self.conn.fetchrow(
                "SELECT id FROM conversations WHERE team_id = $1 AND owner_id IS NOT NULL"
                " AND status <> 'closed' AND NOT (id = ANY($2::uuid[]))"
                " ORDER BY tm_assigned LIMIT 1",
                self.team["id"],
                list(self.taken),
            )
            if row is None:
                return None
            self.taken.add(str(row["id"]))
            return str(row["id"])

    async def value(self, query: str, *args):
        async with self.lock:
            return await self.conn.fetchval(query, *args)

    async def waiting(self) -> int:
        return await self.value(
            "SELECT count(*) FROM conversations WHERE team_id = $1 AND tm_queued IS NOT NULL",
            self.team["id"],
        )

    async def worst_load(self) -> int:
        """The most open rooms any member holds now."""
        return await self.value(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM conversations"
            " WHERE owner_id = ANY($1::uuid[]) AND status <> 'closed'"
            " GROUP BY owner_id) AS c",
            self.team["members"],
        )


async def phase_b(url: str, seeded: dict, admin, frees: int) -> None:
    """The full team of (a) holds the rooms (a) queued there; each close of one of its
    assigned rooms must hand the head its slot, in the close's own transaction."""
    team = seeded["teams"][TEAMS]
    conn = await asyncpg.connect(url)
    latencies: list[float] = []
    try:
        print(f"(b) a freed slot: close an assigned room of a full team, {frees} times", flush=True)
        picker = Picker(conn, team)
        before = await picker.waiting()
        todo = iter(range(min(frees, before)))
        wait_for_quiet(limit=QUIET)

        async def worker() -> None:
            for _ in todo:
                room = await picker.next()
                assert room is not None
                t = time.perf_counter()
                await close_room(room, admin)
                latencies.append((time.perf_counter() - t) * 1000)

        await asyncio.gather(*[worker() for _ in range(4)])
        after = await picker.waiting()
        done = len(latencies)
        print(summary("  close → queue head assigned (committed)", latencies))
        ok = percentile(latencies, 99) <= 1000 and before - after == done
        print(
            f"  queue {before} → {after}: {before - after} heads assigned for {done} closes"
            f"  [{'ok' if ok else 'FAIL'}: <= 1 s p99, one head per freed slot]"
        )
    finally:
        await conn.close()


async def phase_c(url: str, seeded: dict, admin, burst: int, concurrency: int) -> None:
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    team = seeded["teams"][TEAMS + 1]
    conn = await asyncpg.connect(url)
    try:
        print(f"(c) {burst} simultaneous arrivals to a full team", flush=True)
        wait_for_quiet(limit=QUIET)
        started = time.perf_counter()
        got = await asyncio.gather(
            *[
                messages.receive(
                    team["account"], InboundMessage(peer=f"+1306555{i:04d}", text="all at once")
                )
                for i in range(burst)
            ]
        )
        elapsed = time.perf_counter() - started
        rooms = {g.conversation_id for g in got}
        queued = await conn.fetch(
            "SELECT id FROM conversations WHERE team_id = $1 AND tm_queued IS NOT NULL",
            team["id"],
        )
        print(
            f"  {burst} arrivals in {elapsed:.2f} s ({burst / elapsed:.0f}/s): {len(rooms)} rooms,"
            f" {len(queued)} waiting  [{'ok' if len(rooms) == len(queued) == burst else 'LOST'}]"
        )
        # free slots: close assigned rooms, 8 at once, until the queue is empty
        capacity = 5
        over = 0
        closes = 0
        picker = Picker(conn, team)
        started = time.perf_counter()

        async def worker() -> None:
            nonlocal over, closes
            while await picker.waiting():
                room = await picker.next()
                if room is None:
                    return
                await close_room(room, admin)
                closes += 1
                over += await picker.worst_load() > capacity

        await asyncio.gather(*[worker() for _ in range(8)])
        elapsed = time.perf_counter() - started
        per_room = Counter(
            r["target_id"]
            for r in await conn.fetch(
                "SELECT target_id FROM audit_log WHERE action = 'conversation.assigned'"
                " AND target_id = ANY($1::text[])",
                list(rooms),
            )
        )
        once = sum(1 for r in rooms if per_room[r] == 1)
        twice = sum(1 for r in rooms if per_room[r] > 1)
        left = await picker.waiting()
        ok = once == burst and twice == 0 and left == 0 and over == 0
        print(
            f"  {closes} closes in {elapsed:.2f} s: {once} of {burst} rooms assigned exactly once,"
            f" {twice} more than once, {left} still waiting; capacity exceeded after"
            f" {over} closes  [{'ok' if ok else 'FAIL'}]"
        )
    finally:
        await conn.close()


async def main_async(args, url: str, created: dict) -> None:
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.enums import Permission
    from app.domain.principal import Principal

    customer_id = created["customer_id"]
    seeded = await seed(url, customer_id)
    print(
        f"seeded: {TEAMS} teams x {PER_TEAM} agents (+2 full teams of {PER_TEAM}),"
        f" {OPEN_ROOMS} open rooms",
        flush=True,
    )
    admin = Principal(
        customer_id=customer_id,
        agent_id=created["agent_id"],
        username="bench-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    DB.config = engine_config(url)
    size = max(args.concurrency * 5, 20)
    await DB.start_connection_pool(min_size=size, max_size=size)
    try:
        await phase_a(url, seeded, args.arrivals, args.concurrency)
        await phase_b(url, seeded, admin, args.frees)
        await phase_c(url, seeded, admin, args.burst, args.concurrency)
    finally:
        await DB.close_connection_pool()


def main() -> None:
    global QUIET
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrivals", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--frees", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--ceiling-rows", type=int, default=20000)
    parser.add_argument(
        "--quiet", type=float, default=60, help="seconds to wait for a quiet machine per phase"
    )
    args = parser.parse_args()
    QUIET = args.quiet
    random.seed(13)
    with customer_database() as (url, _env, created):
        asyncio.run(main_async(args, url, created))
        from message_throughput import ceiling

        wait_for_quiet(limit=QUIET)
        c = asyncio.run(ceiling(url, args.ceiling_rows, args.concurrency))
        print(
            f"(d) ceiling: {args.ceiling_rows} single-row INSERTs, autocommit,"
            f" {args.concurrency} connections: {c['rate']:.0f} rows/s"
        )
        print(cpu_line(c["cpu"]))


QUIET = 60.0

if __name__ == "__main__":
    harness.PATIENCE["quiet"] = QUIET
    main()

"""What SLA tracking costs the message path: the same messages into a customer without SLA
policies and into one with a policy (three targets, over a calendar with a lunch break),
in rotating rounds so that the machine's other load falls on all alike; a second customer
without policies says how far two identical runs differ.

    .venv/bin/python bench/sla.py [--messages 2000] [--rounds 6] [--concurrency 5]
        [--peers 200]

(a) ingest: `messages.receive()` in this process, `--concurrency` asyncio tasks, messages
    round-robin over `--peers` phone numbers (the first from each opens its room, the
    rest join it): what a burst of inbound traffic costs. With a policy, a room's first
    message starts its clocks; the customer's next messages move none.
(b) turns: each message answered by an agent's reply (`messages.send_message`), so every
    message and every reply moves a clock: the worst case for tracking. In batches of one
    message per room, then one reply per room (every room answered once before the
    phase), so that the messages and the replies are measured apart: the figure the
    target is about is the inbound message's.

Cost is CPU per message — this process's, and that of the database's own PostgreSQL
backends (the pool's connections; not the server's shared processes, which other load
keeps busy) — which the machine's other load disturbs less than throughput; each round's
figures are printed, then the medians and the ratios with/without policy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))

from harness import _proc_cpu, customer_database, db_name  # noqa: E402

LABELS = ("plain", "again", "sla")
"""Two customers without policies (their difference is the run's noise) and one with."""
LUNCH = [{"day": d, "start": "08:00", "end": "12:00"} for d in range(7)] + [
    {"day": d, "start": "13:00", "end": "20:00"} for d in range(7)
]


async def setup(url: str) -> dict:
    from app.channels import accounts
    from app.db import sql
    from app.domain.enums import Permission
    from app.domain.principal import Principal
    from app.domain.resources import AgentCreate, SlaPolicyCreate
    from app.people import agents, customers
    from app.sla import service as policies

    made = {}
    for label in LABELS:
        customer, admin_id = await customers.create_customer(
            name=f"Bench {label}", username=f"bench-{label}-{uuid.uuid4().hex[:6]}",
            password="bench-password",
        )  # fmt: skip
        admin = Principal(
            customer_id=customer.id,
            agent_id=admin_id,
            username="admin",
            permission=Permission.ADMIN,
            via="token",
        )
        agent = await agents.create_agent(
            admin, AgentCreate(username=f"agent-{uuid.uuid4().hex[:8]}", password="bench-pw-1")
        )
        if label == "sla":
            hours = str(uuid.uuid4())
            await sql.execute(
                "INSERT INTO business_hours (id, customer_id, name, time_zone, periods)"
                " VALUES ($1, $2, 'Office', 'Europe/Paris', $3::jsonb)",
                hours,
                customer.id,
                json.dumps(LUNCH),
            )
            await policies.create(
                admin,
                SlaPolicyCreate(
                    name="Standard",
                    business_hours_id=hours,
                    first_response_minutes=15,
                    next_response_minutes=30,
                    resolution_minutes=480,
                ),
            )
        account = await accounts.create_account(
            customer.id,
            type="loopback",
            address="+15550001111",
            settings={"reference_type": "message"},
        )
        made[label] = {
            "account": account,
            "agent": Principal(
                customer_id=customer.id,
                agent_id=agent.id,
                username=agent.username,
                permission=Permission.AGENT,
                via="token",
            ),
        }
    return made


class Meter:
    """CPU seconds so far of this process and of each of the database's own backends (the
    pool's connections), cheap enough to read around every batch: the backends are the
    server's children whose title names the database (the pool replaces a connection
    after so many queries, so they are looked for at each reading)."""

    def __init__(self, database: str) -> None:
        self.database = database
        found = _backends_cpu(database)
        self.server = _parent(next(iter(found))) if found else None
        self.ours: dict[int, bool] = {}

    def _backends(self) -> list[int]:
        if self.server is None:
            return list(_backends_cpu(self.database))
        try:
            kids = Path(f"/proc/{self.server}/task/{self.server}/children").read_text().split()
        except OSError:
            return list(_backends_cpu(self.database))
        pids = []
        for kid in map(int, kids):
            if kid not in self.ours:
                try:
                    title = Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                self.ours[kid] = f" {self.database} " in title and "(" in title.split(":")[-1]
            if self.ours[kid]:
                pids.append(kid)
        return pids

    def read(self) -> tuple[float, dict[int, float]]:
        return time.process_time(), {pid: _proc_cpu(pid) for pid in self._backends()}

    @staticmethod
    def spent(a: tuple[float, dict[int, float]], b: tuple[float, dict[int, float]]) -> tuple:
        """(this process, the backends) between two readings; a connection opened in
        between counts from its start."""
        return b[0] - a[0], sum(v - a[1].get(pid, 0.0) for pid, v in b[1].items())


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


async def round_of(
    url: str, who: dict, label: str, n: int, tasks: int, peers: int, turns: bool, start: int
) -> dict:
    """`n` messages into the customer's rooms; with `turns`, in batches of one message per
    room (`peers` rooms), each batch answered by an agent's reply in every room before
    the next: CPU is measured for the messages and for the replies apart."""
    from app.conversations import messages
    from app.domain.inbound import InboundMessage
    from app.domain.resources import MessageCreate

    replies: list[str] = []

    async def inbound(numbers: list[int]) -> None:
        todo = iter(numbers)

        async def one() -> None:
            for i in todo:
                got = await messages.receive(
                    who["account"],
                    InboundMessage(
                        peer=f"+1202{peers_base(label)}{i % peers:04d}",
                        text=f"message {i}",
                        provider_message_id=f"bench-{label}-{i}",
                    ),
                )
                replies.append(got.conversation_id)

        await asyncio.gather(*[one() for _ in range(tasks)])

    async def answer(rooms: list[str]) -> None:
        todo = iter(rooms)

        async def one() -> None:
            for room in todo:
                await messages.send_message(who["agent"], room, MessageCreate(text="on it"))

        await asyncio.gather(*[one() for _ in range(tasks)])

    meter = Meter(db_name(url))
    spent = {"in": [0.0, 0.0], "reply": [0.0, 0.0]}
    wall = 0.0
    batch = peers if turns else n
    for first in range(start, start + n, batch):
        replies.clear()
        began, t0 = time.perf_counter(), meter.read()
        await inbound(list(range(first, min(first + batch, start + n))))
        t1 = meter.read()
        if turns:
            await answer(list(replies))
        t2 = meter.read()
        wall += time.perf_counter() - began
        for key, a, b in (("in", t0, t1), ("reply", t1, t2)):
            bench, pg = Meter.spent(a, b)
            spent[key][0] += bench
            spent[key][1] += pg
    got = {
        "rate": n / wall,
        "in_bench": spent["in"][0] / n * 1000,
        "in_pg": spent["in"][1] / n * 1000,
        "reply_bench": spent["reply"][0] / n * 1000,
        "reply_pg": spent["reply"][1] / n * 1000,
    }
    got["in"] = got["in_bench"] + got["in_pg"]
    got["reply"] = got["reply_bench"] + got["reply_pg"]
    got["pair"] = got["in"] + got["reply"]
    return got


async def answer_all(who: dict) -> None:
    from app.conversations import messages
    from app.db import sql
    from app.domain.resources import MessageCreate

    principal = who["agent"]
    rows = await sql.fetch(
        "SELECT id FROM conversations WHERE customer_id = $1", principal.customer_id
    )
    for row in rows:
        await messages.send_message(principal, str(row["id"]), MessageCreate(text="hello"))


def _backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of this database's own backends (the pool's connections), by pid: not
    the server's shared processes (WAL writer, checkpointer, other databases' autovacuum),
    which the rest of the machine's load keeps busy."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if f" {database} " in title and "(" in title.split(":")[-1]:
            found[int(entry.name)] = _proc_cpu(int(entry.name))
    return found


async def clocks_count() -> str:
    """That the policy's rooms have clocks, and how they stand (a check on the run)."""
    from app.db import sql

    rows = await sql.fetch(
        "SELECT kind, status, count(*) AS n FROM sla_clocks GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return ", ".join(f"{r['kind']} {r['status']} {r['n']}" for r in rows)


def peers_base(label: str) -> str:
    return str(555 + LABELS.index(label))


async def measure(url: str, args) -> None:
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB

    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=args.concurrency, max_size=args.concurrency)
    try:
        made = await setup(url)
        start = 0  # message numbers go on across phases (provider ids must not repeat)
        for turns in (False, True):
            phase = "(b) turns: message + reply" if turns else "(a) ingest"
            unit = "pair" if turns else "message"
            print(f"{phase}, {args.messages} messages a round, {args.concurrency} tasks")
            if turns:  # every room answered, so that each next message opens a wait
                for label in LABELS:
                    await answer_all(made[label])
            figures: dict[str, list[dict]] = {label: [] for label in LABELS}
            for r in range(args.rounds):
                # each customer in each place of the order in turn
                order = LABELS[r % 3 :] + LABELS[: r % 3]
                for label in order:
                    got = await round_of(
                        url, made[label], label, args.messages, args.concurrency,
                        args.peers, turns, start,
                    )  # fmt: skip
                    figures[label].append(got)
                    line = (
                        f"  round {r + 1} {label:5}: {got['rate']:5.0f} {unit}s/s, CPU per"
                        f" message {got['in_bench']:.3f} + {got['in_pg']:.3f} ms"
                    )
                    if turns:
                        line += (
                            f", per reply {got['reply_bench']:.3f} + {got['reply_pg']:.3f} ms"
                            f" (this process + PostgreSQL)"
                        )
                    print(line, flush=True)
                start += args.messages
            keys = ("rate", "in_bench", "in_pg", "in", "reply", "pair")
            med = {
                label: {k: statistics.median(f[k] for f in figures[label]) for k in keys}
                for label in figures
            }
            for label in LABELS:
                m = med[label]
                line = (
                    f"  median {label:5}: {m['rate']:5.0f}/s, CPU per inbound message"
                    f" {m['in']:.3f} ms (this process {m['in_bench']:.3f}, PostgreSQL"
                    f" {m['in_pg']:.3f})"
                )
                if turns:
                    line += f", per reply {m['reply']:.3f} ms, per pair {m['pair']:.3f} ms"
                print(line)
            plain = {k: (med["plain"][k] + med["again"][k]) / 2 for k in keys}
            shown = ("in", "pair") if turns else ("in",)
            names = {"in": "inbound message", "pair": "message and reply"}
            for k in shown:
                print(
                    f"  CPU per {names[k]}, with a policy / without:"
                    f" {med['sla'][k] / plain[k]:.3f}; the two without differ by"
                    f" {abs(med['plain'][k] / med['again'][k] - 1):.3f} (noise)"
                )
            print(f"  throughput with / without: {med['sla']['rate'] / plain['rate']:.3f}")
            print(f"  (clocks written: {await clocks_count()})\n")
    finally:
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--peers", type=int, default=200)
    args = parser.parse_args()
    with customer_database() as (url, _env, _customer):
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()

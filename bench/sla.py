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
    message and every reply moves a clock: the worst case for tracking.

Cost is CPU per message — this process's, and that of the database's own PostgreSQL
backends (not the server's shared processes, which other load keeps busy) — which the
machine's other load disturbs less than throughput; each round's figures are printed,
then the medians and the ratio with/without policy.
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

sys.path.insert(0, os.path.dirname(__file__))

from harness import CpuMeter, _proc_cpu, customer_database, db_name  # noqa: E402

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


async def round_of(
    url: str, who: dict, label: str, n: int, tasks: int, peers: int, turns: bool, start: int
) -> dict:
    from app.conversations import messages
    from app.domain.inbound import InboundMessage
    from app.domain.resources import MessageCreate

    counter = iter(range(start, start + n))

    async def worker() -> None:
        for i in counter:
            got = await messages.receive(
                who["account"],
                InboundMessage(
                    peer=f"+1202{peers_base(label)}{i % peers:04d}",
                    text=f"message {i}",
                    provider_message_id=f"bench-{label}-{i}",
                ),
            )
            if turns:
                await messages.send_message(
                    who["agent"], got.conversation_id, MessageCreate(text="on it")
                )

    meter = CpuMeter(db_name(url), bench=os.getpid())
    backends = _backends_cpu(db_name(url))
    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(tasks)])
    elapsed = time.perf_counter() - started
    usage = meter.stop()
    backends_after = _backends_cpu(db_name(url))
    # a connection the pool opened during the round counts from its start
    spent = sum(v - backends.get(p, 0.0) for p, v in backends_after.items())
    return {
        "rate": n / elapsed,
        "bench_ms": usage["bench"] / n * 1000,
        "pg_ms": spent / n * 1000,
        "busy": usage["cores_busy"],
    }


def _backends_cpu(database: str) -> dict[int, float]:
    """CPU seconds of this database's own backends (the pool's connections), by pid: not
    the server's shared processes (WAL writer, checkpointer, other databases' autovacuum),
    which the rest of the machine's load keeps busy."""
    from pathlib import Path

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
            unit = "message and its reply" if turns else "message"
            print(f"{phase}, {args.messages} messages a round, {args.concurrency} tasks")
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
                    print(
                        f"  round {r + 1} {label:5}: {got['rate']:7.0f}/s,"
                        f" bench {got['bench_ms']:.3f} ms, PostgreSQL {got['pg_ms']:.3f} ms"
                        f" CPU per {unit} (machine {got['busy']:.2f} cores busy)",
                        flush=True,
                    )
                start += args.messages
            med = {
                label: {
                    k: statistics.median(f[k] for f in figures[label])
                    for k in ("rate", "bench_ms", "pg_ms")
                }
                for label in figures
            }
            for label in LABELS:
                m = med[label]
                print(
                    f"  median {label:5}: {m['rate']:7.0f}/s, CPU per {unit}: bench"
                    f" {m['bench_ms']:.3f} ms + PostgreSQL {m['pg_ms']:.3f} ms"
                    f" = {m['bench_ms'] + m['pg_ms']:.3f} ms"
                )
            cost = lambda m: m["bench_ms"] + m["pg_ms"]  # noqa: E731
            plain = {
                k: (med["plain"][k] + med["again"][k]) / 2 for k in ("rate", "bench_ms", "pg_ms")
            }
            print(
                f"  with a policy / without: CPU {cost(med['sla']) / cost(plain):.3f},"
                f" throughput {med['sla']['rate'] / plain['rate']:.3f}; the two without"
                f" differ by {abs(cost(med['plain']) / cost(med['again']) - 1):.3f} (noise)"
            )
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

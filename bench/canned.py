"""The composer's canned-reply lookup as an agent types `/…`: 5,000 shared replies of a
customer and 200 personal replies for each of its 25 agents (10,000 in all).

    .venv/bin/python bench/canned.py [--requests 400] [--shared 5000] [--agents 25]
        [--personal 200]

Through a real server process, as a signed-in agent: `GET /canned/lookup?q=<prefix>&
conversation_id=<room>` — the desk endpoint canned.js calls on each key — with prefixes of
0 to 4 characters taken from real shortcuts (0: just `/`, the widest list), sequential
GETs on loopback. Each answer is the list's HTML with every reply filled for the room (the
lookup query, the room check, the room's participants and the agent: four queries).
The floor, measured in the same run on the same server: `GET /healthz` (one `SELECT 1`),
what any request costs here. Target: p95 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from harness import Server, customer_database, make_agents, percentile, summary  # noqa: E402

TARGET_P95_MS = 20.0
WORDS = (
    "thanks refund shipping delay order return invoice password reset welcome hello sorry"
    " billing upgrade cancel address tracking discount warranty exchange survey feedback"
    " holiday outage followup closing escalate verify payment receipt coupon"
).split()


def shortcut(rng: random.Random, i: int) -> str:
    return f"{rng.choice(WORDS)}{'-' + rng.choice(WORDS) if rng.random() < 0.5 else ''}{i}"


async def seed(url: str, customer_id: str, admin_id: str, args) -> dict:
    """The replies (plain INSERTs), and one room with a named customer to fill them for."""
    from app.channels import accounts
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    agents = [admin_id] + [a["id"] for a in await make_agents(url, customer_id, args.agents - 1)]
    rng = random.Random(14)
    rows = [
        (customer_id, None, f"Shared {i}", shortcut(rng, i), "Hi {{contact.first_name}}, " * 3)
        for i in range(args.shared)
    ]
    for agent in agents:
        rows += [
            (
                customer_id,
                agent,
                f"Mine {i}",
                shortcut(rng, i),
                "Thanks {{contact.name}}! {{agent.name}}",
            )
            for i in range(args.personal)
        ]
    conn = await asyncpg.connect(url)
    try:
        await conn.executemany(
            "INSERT INTO canned_responses (id, customer_id, owner_id, name, shortcut, text,"
            " tm_create, tm_update) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5,"
            " clock_timestamp(), clock_timestamp())",
            rows,
        )
        await conn.execute("ANALYZE canned_responses")
    finally:
        await conn.close()
    sms = await accounts.create_account(
        customer_id, type="loopback", address="+15550001000", settings={"reference_type": "message"}
    )
    got = await messages.receive(
        sms, InboundMessage(peer="+15550009999", text="hi", peer_name="Dana Ross")
    )
    return {
        "room": got.conversation_id,
        "shortcuts": [r[3] for r in rows if r[1] in (None, admin_id)],
    }


def measure(base: str, room: str, shortcuts: list[str], requests: int) -> dict[str, list[float]]:
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=60) as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "bench-admin",
                "password": "bench-password",
                "_csrf_token": c.cookies.get("csrftoken", ""),
            },
        )
        assert r.status_code in (200, 303) and "token" in c.cookies, r.text[:300]
        for _ in range(20):  # warm up: connections, templates, plans
            c.get("/canned/lookup", params={"q": "th", "conversation_id": room})
            c.get("/healthz")
        times: dict[str, list[float]] = {"floor": []}
        for i in range(requests):
            word = rng.choice(shortcuts)
            size = i % 5
            label = f"lookup /{'x' * size}" if size else "lookup / (no prefix)"
            started = time.perf_counter()
            r = c.get("/canned/lookup", params={"q": word[:size], "conversation_id": room})
            took = (time.perf_counter() - started) * 1000
            assert r.status_code == 200 and "canned-option" in r.text, r.text[:300]
            times.setdefault(label, []).append(took)
            started = time.perf_counter()
            c.get("/healthz")
            times["floor"].append((time.perf_counter() - started) * 1000)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--shared", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument("--personal", type=int, default=200)
    args = parser.parse_args()
    with customer_database() as (url, env, ids):
        seeded = asyncio.run(seed(url, ids["customer_id"], ids["agent_id"], args))
        total = args.shared + args.agents * args.personal
        print(
            f"{total:,} canned replies: {args.shared:,} shared, {args.personal} for each of"
            f" {args.agents} agents; one server process, sequential GETs as a signed-in agent"
        )
        server = Server(env)
        try:
            times = measure(server.url, seeded["room"], seeded["shortcuts"], args.requests)
        finally:
            server.stop()
        every = [t for label, ts in times.items() if label != "floor" for t in ts]
        for label in sorted(k for k in times if k != "floor"):
            print(summary(label, times[label]))
        print(summary("every lookup", every))
        print(summary("floor: GET /healthz (same server, same run)", times["floor"]))
        load = os.getloadavg()
        print(f"load average during the run: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min)")
        p95 = percentile(every, 95)
        verdict = "ok" if p95 <= TARGET_P95_MS else "MISSED"
        print(f"lookup p95 {p95:.2f} ms, target ≤ {TARGET_P95_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()

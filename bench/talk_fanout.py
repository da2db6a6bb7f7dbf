"""A group talk of 200 connected agents: from a message's POST until all 200 have it.

    .venv/bin/python bench/talk_fanout.py [--agents 200] [--messages 200] [--interval 0.075]
                                          [--burst 200] [--in-flight 4] [--runs 3]
                                          [--bus memory|postgres] [--quiet-wait 60]
                                          [--no-compression] [--profile FILE]

Setup: a fresh database; one customer; `--agents` agents (one INSERT); agent 1 creates a
group talk with all of them as participants (`POST /v1.0/talks`); one `convodesk serve`
process (one worker). This process holds one API websocket per agent
(`/v1.0/ws?token=<agent's JWT>`, subscribed to `agent_id:<aid>:talk`) and posts the
messages as agent 1 (`POST /v1.0/talks/{id}/messages`, one keep-alive httpx client).

Two modes, each run `--runs` times after 10 warm-up messages:
- paced: `--messages` messages, one every `--interval` s (open loop: message i is sent at
  i * interval whatever happened before);
- burst: `--burst` messages back to back, `--in-flight` POSTs outstanding at a time.

Latency of a delivery: from just before its POST is sent to the arrival of its
`talk_message_created` frame on one socket (all ends in this process, one clock). Per
message, "all have it" is the slowest of its deliveries. Target: p99 of "all have it"
< 250 ms. The 200 clients share this process (and the 2 cores) with the server and
PostgreSQL, so their own receiving is part of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    SECRET,
    CpuMeter,
    Server,
    bind_app_to,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    fresh_database,
    make_agents,
    others,
    percentile,
    wait_for_quiet,
)

TARGET_MS = 250.0


class Clients:
    """The agents' websockets; each frame's arrival is noted against the message text."""

    def __init__(self, count: int, compression: str | None = "deflate") -> None:
        self.count = count
        self.compression = compression
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []
        self.arrivals: dict[str, list[float]] = {}
        self.complete: dict[str, asyncio.Event] = {}
        self.frames = 0

    def expect(self, text: str) -> None:
        self.arrivals[text] = []
        self.complete[text] = asyncio.Event()

    async def open(self, ws_url: str, agents: list[dict], tokens: list[str]) -> float:
        from websockets.asyncio.client import connect

        started = time.perf_counter()
        gate = asyncio.Semaphore(20)  # not all 200 handshakes at once on 2 cores

        async def one(agent: dict, token: str):
            async with gate:
                ws = await connect(
                    f"{ws_url}?token={token}",
                    max_queue=None,
                    open_timeout=60,
                    proxy=None,
                    compression=self.compression,
                )
                topic = f"agent_id:{agent['id']}:talk"
                await ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
                ack = json.loads(await ws.recv())
                assert ack == {"type": "subscribed", "topics": [topic]}, ack
                return ws

        self.sockets = await asyncio.gather(
            *(one(a, t) for a, t in zip(agents, tokens, strict=True))
        )
        self.readers = [asyncio.create_task(self._read(ws)) for ws in self.sockets]
        return time.perf_counter() - started

    async def _read(self, ws) -> None:
        async for raw in ws:
            at = time.perf_counter()
            self.frames += 1
            frame = json.loads(raw)
            if frame.get("type") != "talk_message_created":
                continue
            got = self.arrivals.get(frame["data"]["text"])
            if got is None:
                continue
            got.append(at)
            if len(got) == self.count:
                self.complete[frame["data"]["text"]].set()

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


async def run_mode(
    http: httpx.AsyncClient,
    clients: Clients,
    talk_path: str,
    label: str,
    count: int,
    interval: float | None,
    in_flight: int,
    pids: dict[str, int],
    database: str,
) -> dict:
    """Post `count` messages (paced every `interval` s, or a burst with `in_flight` POSTs
    outstanding) and wait until every socket has each; the figures of the run."""
    texts = [f"{label} {i} {time.monotonic_ns()}" for i in range(count)]
    for text in texts:
        clients.expect(text)
    sent: dict[str, float] = {}
    post_ms: list[float] = []

    async def post(text: str) -> None:
        sent[text] = time.perf_counter()
        r = await http.post(talk_path, json={"text": text})
        post_ms.append((time.perf_counter() - sent[text]) * 1000)
        assert r.status_code == 201, r.text

    meter = CpuMeter(database, **pids)
    start = time.perf_counter()
    if interval is not None:
        tasks = []
        for i, text in enumerate(texts):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(text)))
        await asyncio.gather(*tasks)
    else:
        queue = list(reversed(texts))

        async def lane() -> None:
            while queue:
                await post(queue.pop())

        await asyncio.gather(*(lane() for _ in range(in_flight)))
    posted = time.perf_counter()
    waits = [asyncio.wait_for(clients.complete[t].wait(), 60) for t in texts]
    results = await asyncio.gather(*waits, return_exceptions=True)
    done = time.perf_counter()
    usage = meter.stop()
    usage["bench"] -= usage["server"]  # the server is the bench's child: count it once
    missing = sum(clients.count - len(clients.arrivals[t]) for t in texts)
    all_have = []
    deliveries = []
    for text, outcome in zip(texts, results, strict=True):
        these = [(a - sent[text]) * 1000 for a in clients.arrivals[text]]
        deliveries += these
        if not isinstance(outcome, BaseException):
            all_have.append(max(these))
    return {
        "label": label,
        "count": count,
        "all_have": all_have,
        "deliveries": deliveries,
        "post_ms": post_ms,
        "missing": missing,
        "posting_s": posted - start,
        "rate": count / (done - start),
        "cpu": usage,
    }


def describe(r: dict) -> list[str]:
    a, d, u = r["all_have"], r["deliveries"], r["cpu"]
    wall = u["wall"]
    return [
        f"  {r['label']}: {r['count']} messages in {r['posting_s']:.1f} s of posting, "
        f"{r['rate']:.1f} messages/s fully delivered; {len(d)} deliveries, "
        f"{r['missing']} missing",
        f"    all {len(d) // max(1, r['count'])} have it  p50 {percentile(a, 50):7.1f} ms  "
        f"p95 {percentile(a, 95):7.1f}  p99 {percentile(a, 99):7.1f}  max {max(a):7.1f}",
        f"    per delivery      p50 {percentile(d, 50):7.1f} ms  p99 {percentile(d, 99):7.1f}"
        f"   POST p50 {percentile(r['post_ms'], 50):.1f} ms  p99 "
        f"{percentile(r['post_ms'], 99):.1f}",
        f"    server CPU {u['server'] / wall:.2f} cores = "
        f"{u['server'] / r['count'] * 1000:.2f} ms per message; "
        f"PostgreSQL {u['postgres'] / wall:.2f}; bench {u['bench'] / wall:.2f}; "
        f"unaccounted {others(u):.2f}",
    ]


async def bench(url: str, server: Server, customer_id: str, args) -> list[dict]:
    from app.people import auth

    agents = await make_agents(url, customer_id, args.agents, prefix="talker")
    tokens = [
        auth.issue_token(a["id"], a["customer_id"], a["username"], SECRET, 6 * 3600) for a in agents
    ]
    results: list[dict] = []
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=60
    ) as http:
        r = await http.post(
            "/v1.0/talks",
            json={
                "type": "group",
                "name": "Everyone",
                "participant_ids": [a["id"] for a in agents[1:]],
            },
        )
        assert r.status_code == 201, r.text
        talk = r.json()
        assert talk["member_count"] == args.agents, talk["member_count"]
        talk_path = f"/v1.0/talks/{talk['id']}/messages"

        clients = Clients(args.agents, None if args.no_compression else "deflate")
        ws_url = server.url.replace("http://", "ws://") + "/v1.0/ws"
        connect_s = await clients.open(ws_url, agents, tokens)
        print(f"{args.agents} websockets connected and subscribed in {connect_s:.1f} s", flush=True)
        await asyncio.sleep(1.0)
        pids = {"server": server.proc.pid, "bench": os.getpid()}
        database = db_name(url)
        try:
            warm = await run_mode(http, clients, talk_path, "warm-up", 10, 0.1, 1, pids, database)
            assert warm["missing"] == 0, warm["missing"]
            for n in range(args.runs):
                for mode in ("paced", "burst"):
                    busy = await asyncio.to_thread(wait_for_quiet, args.quiet_wait)
                    if mode == "paced":
                        r = await run_mode(
                            http, clients, talk_path, f"paced #{n + 1}", args.messages,
                            args.interval, 1, pids, database,
                        )  # fmt: skip
                    else:
                        r = await run_mode(
                            http, clients, talk_path, f"burst #{n + 1}", args.burst, None,
                            args.in_flight, pids, database,
                        )  # fmt: skip
                    r["mode"], r["busy_before"] = mode, busy
                    print("\n".join(describe(r)), flush=True)
                    results.append(r)
        finally:
            await clients.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200, help="paced messages per run")
    parser.add_argument("--interval", type=float, default=0.075, help="paced: seconds apart")
    parser.add_argument("--burst", type=int, default=200, help="burst messages per run")
    parser.add_argument("--in-flight", type=int, default=4, help="burst: POSTs at a time")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bus", choices=("memory", "postgres"), default="memory")
    parser.add_argument(
        "--quiet-wait", type=float, default=60, help="s to wait for a quiet machine per phase"
    )
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="clients do not offer permessage-deflate (browsers do; the default does)",
    )
    parser.add_argument("--profile", help="write the server's cProfile stats to this file")
    args = parser.parse_args()

    url = fresh_database()
    restore = bind_app_to(url)  # app modules bind their engine at import
    env = env_for(url, CONVODESK_EVENT_BUS=args.bus)
    try:
        cli(env, "migrate")
        made = json.loads(
            cli(
                env,
                "customer",
                "create",
                "--name",
                "Talk",
                "--username",
                "talk-admin",
                "--password",
                "talk-password",
            )
        )
        server = Server(env, profile=args.profile)
        try:
            results = asyncio.run(bench(url, server, made["customer_id"], args))
        finally:
            server.stop()
    finally:
        restore()
        drop_database(url)

    print(
        f"\n{args.agents} agents in one group talk, {args.agents} API websockets in the "
        f"bench process, one server process ({args.bus} bus); permessage-deflate "
        f"{'off' if args.no_compression else 'on'}; medians of {args.runs} runs"
    )
    for mode in ("paced", "burst"):
        runs = [r for r in results if r["mode"] == mode]

        def med(key: str, p: float, runs=runs) -> float:
            return statistics.median(percentile(r[key], p) for r in runs)

        print(
            f"  {mode:<5}  all have it: p50 {med('all_have', 50):6.1f} ms  "
            f"p95 {med('all_have', 95):6.1f}  p99 {med('all_have', 99):6.1f}  "
            f"max {statistics.median(max(r['all_have']) for r in runs):6.1f};  "
            f"per delivery p50 {med('deliveries', 50):6.1f}  p99 {med('deliveries', 99):6.1f};"
            f"  {statistics.median(r['rate'] for r in runs):5.1f} messages/s;  server "
            f"{statistics.median(r['cpu']['server'] / r['count'] * 1000 for r in runs):.2f}"
            f" ms CPU/message;  missing {sum(r['missing'] for r in runs)}"
        )
        print("  " + cpu_line(runs[len(runs) // 2]["cpu"]).strip())
    p99 = max(
        statistics.median(percentile(r["all_have"], 99) for r in results if r["mode"] == m)
        for m in ("paced", "burst")
    )
    verdict = "met" if p99 < TARGET_MS else "MISSED"
    print(f"target: p99 (all have it) < {TARGET_MS:.0f} ms: {verdict} (worst mode {p99:.1f} ms)")


if __name__ == "__main__":
    main()

"""List pages at scale: one customer with 100,000 conversations and 1,000,000 messages.

    .venv/bin/python bench/lists_at_scale.py [--rooms 100000] [--messages 1000000]
        [--big-rooms 100] [--requests 300] [--deep-page 500] [--later-page 25]
        [--explain] [--try-fixes]

The data is bulk-loaded with INSERT ... SELECT generate_series (secondary indexes dropped
during the load and re-created from their own definitions afterwards, FK triggers off
for the load session only), then VACUUM ANALYZE:
- rooms created evenly over the past year, each with the customer's number ("me") and a
  peer as participants; status follows last activity like the lifecycle timers would
  leave it: the newest 1% active, the next 9% idle, the rest closed;
- half of the messages in `--big-rooms` long-running rooms (5,000 each by default), each
  spread evenly from its room's creation to an hour ago (every 1,000th room is one, so
  they start all over the year); the other half ~5 per room, a minute apart, in all the
  others; in and out alternately.
Then a real `convodesk serve` (CONVODESK_NO_WORKERS=1: its lifecycle sweeper would
re-status the synthetic rooms mid-run) answers GET requests, one at a time (latency):
the first and a deep page of conversations (tokens from walking next_page_token), the
first and the last page of `status=active` (the last one has to prove there is nothing
after it), and the first and a later page of a big room's messages.

With --explain (and for every case that misses the target), the page query each case
runs is shown with EXPLAIN (ANALYZE, BUFFERS), as the server runs it: a prepared statement,
at its 1st and its 6th execution (when PostgreSQL may switch to a generic plan). With
--try-fixes, the index and setting of FIXES are then added to the bench database (never
to the app) and every case is measured again. The measurement is repeated when other
load on the machine disturbed it (see harness.undisturbed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(__file__))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from harness import (  # noqa: E402
    CpuMeter,
    Server,
    bind_app_to,
    cli,
    cpu_line,
    db_name,
    drop_database,
    env_for,
    fresh_database,
    percentile,
    summary,
    undisturbed,
)

TARGET_P95_MS = 20.0
ME = "+15550001111"
ROOM_STEP = 315  # seconds between room creations: 100,000 rooms over ~a year
SMALL_STEP = 60  # seconds between messages of a small room


# --- bulk load ------------------------------------------------------------------------------


async def load(url: str, customer_id: str, rooms: int, total: int, big: int) -> dict:
    conn = await asyncpg.connect(url)
    timings: dict[str, float] = {}

    async def step(label: str, sql: str, *params) -> None:
        t = time.perf_counter()
        await conn.execute(sql, *params)
        timings[label] = time.perf_counter() - t

    try:
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute("SET synchronous_commit = off")
        account_id = await conn.fetchval(
            "INSERT INTO channel_accounts (customer_id, type, name, address, settings)"
            " VALUES ($1, 'loopback', 'sms (loopback)', $2, '{\"reference_type\": \"message\"}')"
            " RETURNING id",
            customer_id,
            ME,
        )
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename IN ('conversations', 'participants', 'messages')"
            " AND indexname NOT LIKE '%_pkey'"
        )
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')

        t0 = datetime.now(UTC) - timedelta(days=366)
        t_end = datetime.now(UTC) - timedelta(hours=1)  # a big room's last message
        per_big = (total // 2) // big
        big_every = rooms // big  # rooms big_every, 2*big_every, ... are the big ones
        small_total = total - per_big * big
        small_rooms = rooms - big
        # room i (1-based) is created at t0 + (i-1)*ROOM_STEP s; its id and its
        # participants' ids are derived from i, so messages need no join to find them
        room_sql = (  # noqa: UP032 - one template, its numbers named below
            "WITH r AS ("
            "  SELECT i, $2::timestamptz + (i - 1) * interval '{step} s' AS tm_create,"
            "    '+1' || (2000000000 + i)::text AS peer,"
            "    CASE WHEN i % {every} = 0"
            "      THEN $2::timestamptz + (i - 1) * interval '{step} s'"
            "           + ($5::timestamptz - ($2::timestamptz + (i - 1) * interval '{step} s'))"
            "             * (({per_big} - 1)::float8 / {per_big})"
            "      ELSE $2::timestamptz + (i - 1) * interval '{step} s'"
            "           + (({small_total} / {small_rooms}) - 1"
            "              + CASE WHEN (i - 1 - (i - 1) / {every}) < {small_total} % {small_rooms}"
            "                THEN 1 ELSE 0 END) * interval '{small_step} s'"
            "    END AS tm_activity"
            "  FROM generate_series(1, $3::int) i"
            "), ranked AS ("
            "  SELECT r.*, row_number() OVER (ORDER BY tm_activity DESC) AS rank FROM r"
            ") "
            "INSERT INTO conversations (id, customer_id, account_id, name, status,"
            "  reference_type, reference_id, last_message, tm_last_message, tm_activity,"
            "  tm_create, tm_update)"
            " SELECT md5('room' || i)::uuid, $1, $4, peer,"
            "  CASE WHEN rank <= $3 / 100 THEN 'active' WHEN rank <= $3 / 10 THEN 'idle'"
            "    ELSE 'closed' END,"
            "  'message', peer, 'the last message of room ' || i, tm_activity, tm_activity,"
            "  tm_create, tm_activity"
            " FROM ranked"
        ).format(
            step=ROOM_STEP,
            every=big_every,
            per_big=per_big,
            small_total=small_total,
            small_rooms=small_rooms,
            small_step=SMALL_STEP,
        )
        await step("conversations", room_sql, customer_id, t0, rooms, account_id, t_end)
        await step(
            "participants",
            "INSERT INTO participants (id, customer_id, conversation_id, type, target,"  # noqa: UP032
            "  target_name, tm_create, tm_update)"
            " SELECT md5(kind || i)::uuid, $1, md5('room' || i)::uuid, 'tel',"
            "  CASE kind WHEN 'me' THEN $4 ELSE '+1' || (2000000000 + i)::text END,"
            "  CASE kind WHEN 'me' THEN 'me' ELSE 'Unknown' END,"
            "  $2::timestamptz + (i - 1) * interval '{step} s'"
            "    + CASE kind WHEN 'me' THEN interval '0' ELSE interval '1 microsecond' END,"
            "  $2::timestamptz + (i - 1) * interval '{step} s'"
            " FROM generate_series(1, $3::int) i, (VALUES ('me'), ('peer')) k(kind)".format(
                step=ROOM_STEP
            ),
            customer_id,
            t0,
            rooms,
            ME,
        )
        # message m: the first per_big*big go round-robin to the big rooms (seq = its
        # place in its room); the rest round-robin to the small rooms, whose k-th one is
        # room k + 1 + k / (every - 1) (skipping the big ones)
        message_sql = (  # noqa: UP032 - one template, its numbers named below
            "WITH m AS ("
            "  SELECT m, CASE WHEN m <= {big_total}"
            "      THEN ((m - 1) % {big} + 1) * {every}"
            "      ELSE ((m - {big_total} - 1) % {small_rooms})"
            "           + 1 + ((m - {big_total} - 1) % {small_rooms}) / ({every} - 1) END AS r,"
            "    m <= {big_total} AS big,"
            "    CASE WHEN m <= {big_total} THEN (m - 1) / {big}"
            "      ELSE (m - {big_total} - 1) / {small_rooms} END AS seq"
            "  FROM generate_series(1, $3::int) m"
            "), x AS ("
            "  SELECT m, r, $2::timestamptz + (r - 1) * interval '{step} s'"
            "    + CASE WHEN big"
            "      THEN ($6::timestamptz - ($2::timestamptz + (r - 1) * interval '{step} s'))"
            "           * (seq::float8 / {per_big})"
            "      ELSE seq * interval '{small_step} s' END AS tm,"
            "    jsonb_build_object('type', 'tel', 'target', '+1' || (2000000000 + r)::text,"
            "      'target_name', 'Unknown', 'name', '') AS peer,"
            "    jsonb_build_object('type', 'tel', 'target', $5::text, 'target_name', 'me',"
            "      'name', '') AS me"
            "  FROM m"
            ") "
            "INSERT INTO messages (id, customer_id, conversation_id, participant_id,"
            "  account_id, direction, status, reference_type, reference_id, source,"
            "  destination, text, medias, provider_message_id, tm_create, tm_update)"
            " SELECT md5('message' || m)::uuid, $1, md5('room' || r)::uuid,"
            "  md5('peer' || r)::uuid, $4,"
            "  CASE WHEN m % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'done', 'message',"
            "  '+1' || (2000000000 + r)::text,"
            "  CASE WHEN m % 2 = 0 THEN peer ELSE me END,"
            "  CASE WHEN m % 2 = 0 THEN me ELSE peer END,"
            "  'message ' || m || ' about order ' || (m::bigint * 7919 % 100000)"
            "    || ', could you check the delivery date please', '[]',"
            "  'load-' || m, tm, tm"
            " FROM x"
        ).format(
            big_total=per_big * big,
            big=big,
            every=big_every,
            small_rooms=small_rooms,
            per_big=per_big,
            small_step=SMALL_STEP,
            step=ROOM_STEP,
        )
        await step("messages", message_sql, customer_id, t0, total, account_id, ME, t_end)
        t = time.perf_counter()
        for ix in indexes:
            await conn.execute(ix["indexdef"])
        timings["indexes"] = time.perf_counter() - t
        await conn.execute("RESET session_replication_role")
        await step("vacuum analyze", "VACUUM (ANALYZE) conversations, participants, messages")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM conversations) AS rooms,"
            " (SELECT count(*) FROM participants) AS participants,"
            " (SELECT count(*) FROM messages) AS messages,"
            " (SELECT count(*) FROM conversations WHERE status = 'active') AS active,"
            " pg_size_pretty(pg_database_size(current_database())) AS size"
        )
        bad = await conn.fetchval(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.tm_create < c.tm_create OR m.tm_create > c.tm_activity"
        )
        assert bad == 0, f"{bad} messages outside their room's lifetime"
        big_rooms = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM conversations WHERE reference_id IN"
                " (SELECT '+1' || (2000000000 + i)::text"
                "  FROM generate_series($1::int, $2::int, $1::int) i) ORDER BY tm_create",
                big_every,
                big_every * big,
            )
        ]
        return {
            "timings": timings,
            "counts": dict(counts),
            "big_rooms": big_rooms,
            "per_big": per_big,
        }
    finally:
        await conn.close()


# --- measuring -------------------------------------------------------------------------------


async def walk(c: httpx.AsyncClient, path: str, params: dict, pages: int) -> list[str]:
    """next_page_token of pages 1..pages (fewer when the list ends first)."""
    tokens = []
    token = ""
    for _ in range(pages):
        r = await c.get(path, params={**params, **({"page_token": token} if token else {})})
        assert r.status_code == 200, r.text
        token = r.json()["next_page_token"]
        if not token:
            break
        tokens.append(token)
    return tokens


async def measure(
    base: str,
    token: str,
    big_rooms: list[str],
    n: int,
    deep_page: int,
    later_page: int,
    active_pages: int,
) -> tuple[list, dict]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        deep = (await walk(c, "/v1.0/conversations", {}, deep_page))[-1]
        active = await walk(c, "/v1.0/conversations", {"status": "active"}, active_pages)
        # the token that leads to the last page of status=active
        last_active = active[-1]
        rooms = big_rooms[:: max(1, len(big_rooms) // 10)][:10]
        later = {
            room: (await walk(c, f"/v1.0/conversations/{room}/messages", {}, later_page))[-1]
            for room in rooms
        }
        cases = [
            ("conversations, first page", "/v1.0/conversations", {}, None),
            (
                f"conversations, page {deep_page + 1} (token)",
                "/v1.0/conversations",
                {"page_token": deep},
                None,
            ),
            (
                "conversations?status=active, first page",
                "/v1.0/conversations",
                {"status": "active"},
                None,
            ),
            (
                f"conversations?status=active, last page ({len(active) + 1})",
                "/v1.0/conversations",
                {"status": "active", "page_token": last_active},
                None,
            ),
            ("messages of a big room, first page", None, {}, rooms),
            (f"messages of a big room, page {later_page + 1} (token)", None, {}, later),
        ]
        results = []
        for label, path, params, per_room in cases:
            latencies: list[float] = []
            for i in range(n + 20):  # the first 20 warm up
                if per_room is not None:
                    room = rooms[i % len(rooms)]
                    path = f"/v1.0/conversations/{room}/messages"
                    params = {"page_token": per_room[room]} if isinstance(per_room, dict) else {}
                t = time.perf_counter()
                r = await c.get(path, params=params)
                ms = (time.perf_counter() - t) * 1000
                assert r.status_code == 200 and len(r.json()["result"]) > 0, r.text
                if i >= 20:
                    latencies.append(ms)
            results.append((label, latencies))
        context = {
            "deep": deep,
            "last_active": last_active,
            "rooms": rooms,
            "later": later,
            "active_pages": len(active) + 1,
        }
        return results, context


def _literal(value) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _shape(plan: list[str]) -> list[str]:
    """A plan's node lines without their figures, to tell two plans apart."""
    return [
        line.split("(")[0].strip()
        for line in plan
        if "->" in line or not line[:1].isspace() and not line.startswith(("Planning", "Execution"))
    ]


async def explain(url: str, customer_id: str, context: dict, labels: list[str | None]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page query each case runs, built by the same
    Piccolo expressions as core.pagination.keyset_page (LIMIT page + 1), as a prepared
    statement with parameters, like asyncpg runs it in the server: its 1st execution
    (a custom plan for these values) and its 6th (from then on PostgreSQL may keep a
    generic plan for the statement, made without looking at the values)."""
    from app.db.tables import Conversation, Message
    from app.domain.timefmt import parse

    def conversations(status: str | None = None, before: str | None = None):
        where = [Conversation.customer_id == customer_id, Conversation.tm_delete.is_null()]
        if status:
            where.append(Conversation.status == status)
        if before:
            where.append(Conversation.tm_create < parse(before))
        return (
            Conversation.select()
            .where(*where)
            .order_by(Conversation.tm_create, ascending=False)
            .order_by(Conversation.id, ascending=False)
            .limit(101)
        )

    def messages(room: str, before: str | None = None):
        where = [Message.conversation_id == room, Message.tm_delete.is_null()]
        if before:
            where.append(Message.tm_create < parse(before))
        return (
            Message.select()
            .where(*where)
            .order_by(Message.tm_create, ascending=False)
            .order_by(Message.id, ascending=False)
            .limit(101)
        )

    room = context["rooms"][0]
    queries = [
        conversations(),
        conversations(before=context["deep"]),
        conversations(status="active"),
        conversations(status="active", before=context["last_active"]),
        messages(room),
        messages(room, context["later"][room]),
    ]
    conn = await asyncpg.connect(url)
    out = []
    try:
        for label, query in zip(labels, queries, strict=True):
            if label is None:
                continue
            sql, params = query.querystrings[0].compile_string(engine_type="postgres")
            await conn.execute(f"PREPARE bench_page AS {sql}")
            values = ", ".join(map(_literal, params))
            run = f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_page({values})"
            plans = [[r[0] for r in await conn.fetch(run)] for _ in range(6)]
            await conn.execute("DEALLOCATE bench_page")
            block = [f"--- {label}", f"{sql}", f"    with {params}"]
            if _shape(plans[0]) != _shape(plans[-1]):
                block += [
                    "execution 1 (custom plan):",
                    *plans[0],
                    "execution 6 (generic plan, kept from then on):",
                    *plans[-1],
                ]
            else:
                block += ["executions 1 and 6 (the same plan):", *plans[-1]]
            out.append("\n".join(block))
    finally:
        await conn.close()
    return out


FIXES = [
    # the status filter walks the whole customer index when few rooms match
    "CREATE INDEX bench_conversations_customer_status_created ON conversations"
    " (customer_id, status, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
    # prepared page queries keep custom plans (see explain())
    "ALTER DATABASE {db} SET plan_cache_mode = force_custom_plan",
]


async def apply_fixes(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        db = await conn.fetchval("SELECT current_database()")
        for sql in FIXES:
            await conn.execute(sql.format(db=f'"{db}"'))
        await conn.execute("ANALYZE conversations")
    finally:
        await conn.close()


def serve_and_measure(url: str, big_rooms: list[str], args: argparse.Namespace):
    # no background workers: the lifecycle sweeper would idle and close the synthetic
    # rooms (their activity times are hours old) in the middle of the measurement
    server = Server(env_for(url, CONVODESK_NO_WORKERS="1"))
    try:
        login = {"username": "bench-admin", "password": "bench-password"}
        token = httpx.post(server.url + "/auth/login", json=login).json()["token"]

        def one() -> dict:
            meter = CpuMeter(db_name(url), server=server.proc.pid, bench=os.getpid())
            results, context = asyncio.run(
                measure(
                    server.url,
                    token,
                    big_rooms,
                    args.requests,
                    args.deep_page,
                    args.later_page,
                    active_pages=args.rooms // 100 // 100 + 1,
                )
            )
            return {"results": results, "context": context, "cpu": meter.stop()}

        run = undisturbed(one, label="lists")
        results, context = run["results"], run["context"]
    finally:
        server.stop()
    print(
        f"one server process, sequential GETs, page_size 100; target p95 < {TARGET_P95_MS:.0f} ms"
    )
    print(cpu_line(run["cpu"]))
    flagged = []
    for label, latencies in results:
        p95 = percentile(latencies, 95)
        print(summary(label, latencies) + ("  ok" if p95 < TARGET_P95_MS else "  MISSED"))
        flagged.append(label if (p95 >= TARGET_P95_MS or args.explain) else None)
    return results, context, flagged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big-rooms", type=int, default=100)
    parser.add_argument("--requests", type=int, default=300, help="per case")
    parser.add_argument(
        "--deep-page",
        type=int,
        default=500,
        help="the deep conversations page is the one after this many",
    )
    parser.add_argument(
        "--later-page",
        type=int,
        default=25,
        help="the later messages page is the one after this many",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="show the plan of every case, not only of those over target",
    )
    parser.add_argument(
        "--try-fixes",
        action="store_true",
        help="then add the index and setting of FIXES to the bench database "
        "(not to the app) and measure again",
    )
    args = parser.parse_args()

    url = fresh_database()
    restore = bind_app_to(url)  # app modules bind their engine at import
    env = env_for(url)
    try:
        cli(env, "migrate")
        customer_id = json.loads(
            cli(
                env,
                "customer",
                "create",
                "--name",
                "Bench",
                "--username",
                "bench-admin",
                "--password",
                "bench-password",
            )
        )["customer_id"]
        started = time.perf_counter()
        loaded = asyncio.run(load(url, customer_id, args.rooms, args.messages, args.big_rooms))
        took = time.perf_counter() - started
        counts = loaded["counts"]
        print(
            f"loaded {counts['rooms']:,} conversations ({counts['active']:,} active), "
            f"{counts['participants']:,} participants, {counts['messages']:,} messages "
            f"({len(loaded['big_rooms'])} rooms of {loaded['per_big']:,}); database "
            f"{counts['size']}; {took:.0f} s: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in loaded["timings"].items())
        )

        results, context, flagged = serve_and_measure(url, loaded["big_rooms"], args)
        print(
            f"all cases: median of medians "
            f"{statistics.median(statistics.median(lat) for _, lat in results):.2f} ms"
        )
        if any(flagged):
            for block in asyncio.run(explain(url, customer_id, context, flagged)):
                print(block)
        if args.try_fixes:
            asyncio.run(apply_fixes(url))
            print("\nagain, with on the bench database only:")
            for sql in FIXES:
                print("    " + sql.format(db="<bench>"))
            after, _, _ = serve_and_measure(url, loaded["big_rooms"], args)
            print("p95 as the app is -> with the index and custom plans:")
            for (label, before), (_, fixed) in zip(results, after, strict=True):
                print(
                    f"    {label:<44} {percentile(before, 95):6.2f} ms -> "
                    f"{percentile(fixed, 95):6.2f} ms"
                )
    finally:
        restore()
        drop_database(url)


if __name__ == "__main__":
    main()

"""Contact search at scale: one customer with 1,000,000 contacts.

    .venv/bin/python bench/contacts.py [--contacts 1000000] [--requests 300]

The contacts are bulk-loaded with INSERT ... SELECT generate_series (the secondary indexes
dropped during the load and re-created from their own definitions afterwards), each with
a first and last name drawn from 200 x 500 common names, a phone number and an email
address, and their search words (app/contacts/words.py: every run of name words, every
address, a phone number without its `+`); then VACUUM ANALYZE.

Then the service (`contacts.service.list_contacts`, as `GET /v1.0/contacts?q=` calls it,
with the resources shaped: addresses and tags read) runs in this process on a pool, one
call at a time, for several query shapes, each `--requests` times with varied values:
one letter, a first name, "first last" typed halfway, an email prefix, phone digits, a
query nothing matches, and the list without `q`. The floor is a plain lookup of one
address on its unique index (what the inbound path pays). Each shape prints p50/p95
against the 20 ms target.
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
from harness import customer_database, percentile, summary, wait_for_quiet  # noqa: E402

TARGET_P95_MS = 20.0
FIRST = [
    "maria", "james", "anna", "mohammed", "li", "sofia", "david", "emma", "noah", "olivia",
    "liam", "ava", "lucas", "mia", "ethan", "amelia", "mateo", "isabella", "leo", "chloe",
]  # fmt: skip
LAST = [
    "garcia", "smith", "kim", "nguyen", "muller", "rossi", "silva", "tanaka", "khan", "cohen",
    "ivanova", "dubois", "jensen", "novak", "lopez", "brown", "wilson", "sato", "ali", "park",
]  # fmt: skip
FIRST_N, LAST_N = 200, 500  # names: base name + a number, so there are many distinct ones

LOAD = [
    # contacts: names from the two lists, with a number so that there are 200 x 500 names
    "INSERT INTO contacts (id, customer_id, first_name, last_name, display_name, source,"
    " tm_create, tm_update)"
    " SELECT gen_random_uuid(), $1, f.n || (i % {first_n}), l.n || (i % {last_n}), '', 'import',"
    "  now() - i * interval '1 second', now() - i * interval '1 second'"
    " FROM generate_series(1, $2) AS i,"
    " LATERAL (SELECT ($3::text[])[1 + i % array_length($3::text[], 1)] AS n) f,"
    " LATERAL (SELECT ($4::text[])[1 + (i / 7) % array_length($4::text[], 1)] AS n) l",
    # a phone number and an email address each
    "INSERT INTO contact_addresses (id, customer_id, contact_id, type, target, is_primary,"
    " tm_create, tm_update)"
    " SELECT gen_random_uuid(), customer_id, id, 'tel',"
    "  '+1555' || lpad((row_number() OVER ())::text, 7, '0'), true, tm_create, tm_create"
    " FROM contacts WHERE customer_id = $1",
    "INSERT INTO contact_addresses (id, customer_id, contact_id, type, target, is_primary,"
    " tm_create, tm_update)"
    " SELECT gen_random_uuid(), customer_id, id, 'email',"
    "  first_name || '.' || last_name || '.' || (row_number() OVER ()) || '@example.com',"
    "  true, tm_create, tm_create FROM contacts WHERE customer_id = $1",
    # the search words, as app/contacts/words.py makes them
    "INSERT INTO contact_words (customer_id, contact_id, word)"
    " SELECT DISTINCT customer_id, id, w FROM contacts,"
    " LATERAL unnest(ARRAY[first_name, last_name, first_name || ' ' || last_name]) AS w"
    " WHERE customer_id = $1",
    "INSERT INTO contact_words (customer_id, contact_id, word)"
    " SELECT customer_id, contact_id, target FROM contact_addresses WHERE customer_id = $1"
    " UNION ALL SELECT customer_id, contact_id, ltrim(target, '+') FROM contact_addresses"
    " WHERE customer_id = $1 AND type = 'tel'",
]
TABLES = ("contacts", "contact_addresses", "contact_words")


async def load(url: str, customer_id: str, n: int) -> float:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[])"
            " AND indexname NOT LIKE '%_pkey'",
            list(TABLES),
        )
        for r in indexes:
            await conn.execute(f"DROP INDEX {r['indexname']}")
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        for i, statement in enumerate(LOAD):
            args = [customer_id] + ([n, FIRST, LAST] if i == 0 else [])
            await conn.execute(statement.format(first_n=FIRST_N, last_n=LAST_N), *args)
        await conn.execute("SET session_replication_role = DEFAULT")
        for r in indexes:
            await conn.execute(r["indexdef"])
        for table in TABLES:
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return time.perf_counter() - started


def shapes(rng: random.Random) -> dict[str, callable]:
    def name() -> tuple[str, str]:
        return (
            f"{rng.choice(FIRST)}{rng.randrange(FIRST_N)}",
            f"{rng.choice(LAST)}{rng.randrange(LAST_N)}",
        )

    return {
        "q=<one letter>": lambda: rng.choice("abcdefghijklmnopqrstuvwxyz"),
        "q=<first name>": lambda: name()[0],
        "q=<first last, typed halfway>": lambda: (lambda first, last: f"{first} {last[:3]}")(
            *name()
        ),
        "q=<email prefix>": lambda: "{}.{}".format(*name())[:12],
        "q=<phone digits>": lambda: "1555" + str(rng.randrange(10**7)).zfill(7)[:4],
        "q=<no match>": lambda: "zq" + str(rng.randrange(1000)),
        "no q (newest first)": lambda: None,
    }


async def measure(url: str, customer_id: str, agent_id: str, requests: int) -> None:
    from app.contacts import service, store
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.domain.enums import Permission
    from app.domain.principal import Principal

    principal = Principal(
        customer_id=customer_id,
        agent_id=agent_id,
        username="bench-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    DB.config = engine_config(url)
    await DB.start_connection_pool(min_size=2, max_size=2)
    rng = random.Random(7)
    try:
        floor = []
        for _ in range(requests):
            target = "+1555" + str(rng.randrange(1, 10**6)).zfill(7)
            t = time.perf_counter()
            await store.holder_of(customer_id, "tel", target)
            floor.append((time.perf_counter() - t) * 1000)
        print(summary("floor: one address on its unique index", floor[10:]))
        for label, make in shapes(rng).items():
            millis, found = [], 0
            for i in range(requests + 10):
                q = make()
                t = time.perf_counter()
                rows, _ = await service.list_contacts(principal, q, 25)
                if i >= 10:  # the first ones warm the plans and the pool
                    millis.append((time.perf_counter() - t) * 1000)
                    found += len(rows)
            verdict = "ok" if percentile(millis, 95) <= TARGET_P95_MS else "OVER"
            print(
                f"{summary(label, millis)}  avg {found / requests:4.1f} rows/page"
                f"  [target p95 <= {TARGET_P95_MS:.0f} ms: {verdict}]",
                flush=True,
            )
    finally:
        await DB.close_connection_pool()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with customer_database() as (url, _env, created):
        seconds = asyncio.run(load(url, created["customer_id"], args.contacts))
        print(
            f"loaded {args.contacts:,} contacts (2 addresses each, their words) in {seconds:.0f} s"
        )
        wait_for_quiet(limit=60)
        asyncio.run(measure(url, created["customer_id"], created["agent_id"], args.requests))


if __name__ == "__main__":
    main()

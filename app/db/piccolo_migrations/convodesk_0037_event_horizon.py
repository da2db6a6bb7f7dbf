"""Event order without a lock held by writers against each other: `event_horizon()`.

Writers take a SHARED per-customer advisory lock (class 0x0C0DE5 = 787941) before they
draw event ids, and hold it to COMMIT (core.events). Shared holders never wait for each
other, so a busy customer's transactions commit in parallel, in any order.

A reader asks `event_horizon(customers)` for the highest id it may read up to: for each
customer it takes the EXCLUSIVE form of the same lock — which waits only until the
transactions that hold ids right now have committed or rolled back (at most one INSERT
and a COMMIT each) — reads the largest committed id, and lets go at once. Every id drawn
before that moment is then committed (or gone for good), and every id drawn later is
larger: so "events with id <= horizon" is a prefix of the customer's stream that can never
grow a hole. The lock is taken and released at session level inside the function, so a
caller in a transaction does not keep it; an error or a cancellation while it is held
lets it go too (a session lock left on a pooled connection would stop the customer's
writers for good; asyncpg's pool also runs pg_advisory_unlock_all() on every release).
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-04T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event horizon"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE FUNCTION event_horizon(lock_class integer, customers uuid[])"
        " RETURNS TABLE (customer_id uuid, horizon bigint)"
        " LANGUAGE plpgsql VOLATILE AS $fn$"
        " DECLARE c uuid;"
        " BEGIN"
        "   FOREACH c IN ARRAY customers LOOP"
        "     BEGIN"
        "       PERFORM pg_advisory_lock(lock_class, hashtext(c::text));"
        "       customer_id := c;"
        "       horizon := greatest("
        "         (SELECT max(e.id) FROM events e WHERE e.customer_id = c),"
        "         (SELECT u.events_pruned_through FROM customers u WHERE u.id = c), 0);"
        "       PERFORM pg_advisory_unlock(lock_class, hashtext(c::text));"
        "     EXCEPTION WHEN OTHERS OR query_canceled THEN"
        "       PERFORM pg_advisory_unlock(lock_class, hashtext(c::text));"
        "       RAISE;"
        "     END;"
        "     RETURN NEXT;"
        "   END LOOP;"
        " END $fn$",
    ],
)

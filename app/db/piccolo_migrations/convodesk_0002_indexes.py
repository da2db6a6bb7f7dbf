"""Indexes for the hot paths of agents, access keys, sign-in and events.

- agents: a username is unique among live agents (case-insensitive: stored lower-case);
  lists per customer are newest first.
- access_keys: lists per customer.
- login_failures: the throttle counts one username's recent failures.
- events: readers resume per customer by id.
"""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T01:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the hot paths"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE UNIQUE INDEX agents_username_live ON agents (username) WHERE tm_delete IS NULL",
        "CREATE INDEX agents_customer_created ON agents (customer_id, tm_create DESC, id DESC)",
        "CREATE INDEX access_keys_customer_created"
        " ON access_keys (customer_id, tm_create DESC, id DESC)",
        "CREATE INDEX login_failures_username ON login_failures (username, tm_create)",
        "CREATE INDEX events_customer_id ON events (customer_id, id)",
    ],
)

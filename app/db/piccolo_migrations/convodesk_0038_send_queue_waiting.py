"""The send queue's waiting rows, by due time: `/metrics` counts them (and finds the
oldest) at every scrape. `outbound_due` indexes every row the queue ever held, sent ones
included, so counting the waiting ones through it would read the whole history; this index
holds only the rows still waiting or being sent."""

from app.db.raw_migration import sql_migration

ID = "2026-12-04T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "send queue waiting index"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE INDEX outbound_waiting ON outbound_messages (next_try_at)"
        " WHERE status IN ('queued', 'sending')",
    ],
)

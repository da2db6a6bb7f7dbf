"""Indexes for list filters with few matches: without them a filter such as
`status=active` walks every room of the customer to prove there is no further match."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "status and owner filter indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE INDEX conversations_customer_status ON conversations"
        " (customer_id, status, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
        "CREATE INDEX conversations_customer_owner ON conversations"
        " (customer_id, owner_id, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
    ],
)

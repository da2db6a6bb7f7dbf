"""Provider ids of any length, and the rejected-inbound log's indexes.

A btree entry must stay under about 2,700 bytes, and a provider decides how long its ids
are (a 3,000-character Message-ID is legal): the indexes on provider ids are on their
md5, and the queries compare both the md5 (to use the index) and the id itself.
"""

from app.db.raw_migration import sql_migration

ID = "2026-11-30T10:16:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "provider id hash indexes, rejected-inbound indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "DROP INDEX messages_provider_id",
        "CREATE UNIQUE INDEX messages_provider_id ON messages"
        " (account_id, md5(provider_message_id)) WHERE provider_message_id <> ''",
        "DROP INDEX messages_customer_provider_id",
        "CREATE INDEX messages_customer_provider_id ON messages"
        " (customer_id, md5(provider_message_id)) WHERE provider_message_id <> ''",
        "DROP INDEX early_statuses_provider_id",
        "CREATE INDEX early_statuses_provider_id ON early_statuses"
        " (account_id, md5(provider_message_id))",
        # one row per (account, provider event id): a redelivery adds nothing
        "CREATE UNIQUE INDEX rejected_inbound_event ON rejected_inbound"
        " (account_id, md5(provider_event_id)) WHERE provider_event_id <> ''",
        "CREATE INDEX rejected_inbound_account ON rejected_inbound"
        " (account_id, tm_create DESC, id DESC)",
    ],
)

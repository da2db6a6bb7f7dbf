"""One live account per provider address (the SMTP listener finds the account for a
recipient address by it), the lookup of early statuses by provider id, and of a
customer's messages by provider id (email threading)."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T03:44:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "channel account address and early status indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE UNIQUE INDEX channel_accounts_address ON channel_accounts (type, lower(address))"
        " WHERE tm_delete IS NULL AND address <> '' AND type <> 'loopback'",
        "CREATE INDEX early_statuses_provider_id ON early_statuses"
        " (account_id, provider_message_id)",
        # an email reply finds its room by the Message-IDs it cites
        "CREATE INDEX messages_customer_provider_id ON messages"
        " (customer_id, provider_message_id) WHERE provider_message_id <> ''",
    ],
)

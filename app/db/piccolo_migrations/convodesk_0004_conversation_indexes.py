"""Indexes for conversations, messages and the send queue.

- conversations: API lists newest first and the inbox by last activity, per customer,
  live rooms only; tag filters (GIN).
- participants: room matching looks up (customer, type, target) among live participants.
- messages: a room's history newest first; a provider's message id is stored once per
  channel account (retries of the same message are not stored twice); text search.
- outbound_messages: the sender claims due rows.
- idempotency_keys: one per customer and key.
"""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T01:58:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "conversation indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE INDEX conversations_customer_created ON conversations"
        " (customer_id, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
        "CREATE INDEX conversations_customer_activity ON conversations"
        " (customer_id, tm_activity DESC, id DESC) WHERE tm_delete IS NULL",
        "CREATE INDEX conversations_tags ON conversations USING gin (tags)",
        "CREATE INDEX conversations_idle_sweep ON conversations (status, tm_activity)"
        " WHERE tm_delete IS NULL AND status <> 'closed'",
        "CREATE INDEX participants_address ON participants (customer_id, type, target)"
        " WHERE tm_delete IS NULL",
        "CREATE INDEX participants_conversation ON participants (conversation_id)",
        "CREATE INDEX messages_conversation_created ON messages"
        " (conversation_id, tm_create DESC, id DESC)",
        "CREATE UNIQUE INDEX messages_provider_id ON messages (account_id, provider_message_id)"
        " WHERE provider_message_id <> ''",
        "CREATE INDEX messages_text_search ON messages"
        " USING gin (to_tsvector('simple', text))",
        "CREATE INDEX outbound_due ON outbound_messages (next_try_at)"
        " WHERE status IN ('queued', 'sending')",
        "CREATE UNIQUE INDEX idempotency_customer_key ON idempotency_keys (customer_id, key)",
        "CREATE INDEX idempotency_created ON idempotency_keys (tm_create)",
    ],
)

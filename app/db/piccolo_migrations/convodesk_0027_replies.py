"""Replies: `messages.agent_id`, the agent who sent an outbound
message (null for inbound ones and for access keys), and `messages.scheduled_at`, when a
scheduled ("send later") message is due. A scheduled message waits in the send queue
(`outbound_messages.next_try_at`), so no new table and no index: the queue's claim already
finds due rows. The stale-reply check reads the room's newest messages through the
existing (conversation_id, tm_create) index."""

from app.db.raw_migration import sql_migration

ID = "2026-12-02T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "replies: agent_id, scheduled_at"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE messages ADD COLUMN agent_id uuid NULL",
        "ALTER TABLE messages ADD COLUMN scheduled_at timestamptz NULL",
    ],
)

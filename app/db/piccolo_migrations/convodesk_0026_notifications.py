"""Mentions and notifications.

- `notifications`: what an agent should look at (a mention in a note, a room assigned to
  it), with its read state. Keyset pages per agent, newest first
  (`notifications_agent`); the unread ones, which the desk's bell counts and `read=false`
  lists, have their own partial index (`notifications_unread`), so the count stays an
  index-only walk however many read notifications an agent keeps.
- `conversation_activities.mentions`: a note's mentions, resolved when it is written
  (`[{"agent_id", "start", "end"}]`), so renaming an agent later changes nothing.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-02T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications and mentions"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE notifications ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,"
        " type varchar(16) NOT NULL,"
        " conversation_id uuid NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " message_id uuid NULL,"
        " actor_id uuid NULL,"
        " text text NOT NULL DEFAULT '',"
        " read boolean NOT NULL DEFAULT false,"
        " tm_read timestamptz NULL,"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX notifications_agent ON notifications (agent_id, tm_create DESC, id DESC)",
        "CREATE INDEX notifications_unread ON notifications (agent_id, tm_create DESC, id DESC)"
        " WHERE NOT read",
        "CREATE INDEX notifications_conversation ON notifications (conversation_id)",
        "ALTER TABLE conversation_activities"
        " ADD COLUMN mentions jsonb NOT NULL DEFAULT jsonb_build_array()",
    ],
)

"""Business hours: the out-of-hours automatic reply.

- `closed_replies`: each "we are closed" reply sent in a room (the message it was), so a
  room gets one per closed period: the inbound path reads the room's latest by
  `closed_replies_room`, and anything that must tell these automatic messages from an
  agent's replies finds them by `closed_replies_message`.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "business hours"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE closed_replies ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " message_id uuid NOT NULL,"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX closed_replies_room ON closed_replies (conversation_id, tm_create DESC)",
        "CREATE UNIQUE INDEX closed_replies_message ON closed_replies (message_id)",
    ],
)

"""The talks' indexes: one live direct talk per pair of agents, one participant row per
agent and talk, an agent's talk list, a talk's stream and threads, the unread counts, and
one reaction per message, agent and emoji."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T05:46:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "talk indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE UNIQUE INDEX talks_direct_pair ON talks (customer_id, direct_key)"
        " WHERE direct_key IS NOT NULL AND tm_delete IS NULL",
        "CREATE INDEX talks_list ON talks (customer_id, tm_create DESC, id DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE UNIQUE INDEX talk_participants_agent ON talk_participants (talk_id, agent_id)",
        "CREATE INDEX talk_participants_mine ON talk_participants (agent_id, talk_id)"
        " WHERE status = 'active'",
        # the main stream (roots only) and a thread, newest first
        "CREATE INDEX talk_messages_stream ON talk_messages (talk_id, tm_create DESC, id DESC)"
        " WHERE parent_id IS NULL",
        "CREATE INDEX talk_messages_thread ON talk_messages"
        " (parent_id, tm_create DESC, id DESC) WHERE parent_id IS NOT NULL",
        # unread: others' normal messages after a time
        "CREATE INDEX talk_messages_unread ON talk_messages (talk_id, tm_create)"
        " WHERE type = 'normal' AND tm_delete IS NULL",
        "CREATE UNIQUE INDEX talk_reactions_one ON talk_reactions (message_id, agent_id, emoji)",
    ],
)

"""Indexes for the desk: a room's timeline of notes and system lines; an agent's read mark
per room (one each)."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T02:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "desk indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE INDEX activities_conversation_created ON conversation_activities"
        " (conversation_id, tm_create DESC)",
        "CREATE UNIQUE INDEX reads_agent_conversation ON conversation_reads"
        " (agent_id, conversation_id)",
        "CREATE INDEX messages_inbound_after ON messages (conversation_id, tm_create)"
        " WHERE direction = 'inbound'",
    ],
)

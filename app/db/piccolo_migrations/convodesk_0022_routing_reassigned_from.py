"""Routing: `conversations.reassigned_from`, the agent a room was taken from because it did
not answer in time (the reassign-after timer), or who let it go; routing does not give the
room back to that agent (until a person assigns it, or routing gives it to someone)."""

from app.db.raw_migration import sql_migration

ID = "2026-12-01T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing: reassigned_from"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    ["ALTER TABLE conversations ADD COLUMN reassigned_from uuid NULL"],
)

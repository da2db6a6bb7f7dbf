"""SLA clocks on the message path: the room carries its clocks, and fewer indexes to write.

- `conversations.sla_state`: the room's clocks as the fold left them (JSON text: an array
  per kind of the columns of its `sla_clocks` row that the fold reads, in a fixed order).
  The message path reads the room, locked, anyway: a message that moves a clock no
  longer reads `sla_clocks` first. Written in the same statement as the rows it mirrors;
  text, not jsonb, since nothing queries inside it and text costs nothing to write and
  read back.
- `sla_clocks_next`, one index for the worker's scan (the time a running clock next needs
  it: its due time, or its warning time until the warning is given), instead of
  `sla_clocks_due` and `sla_clocks_warn`.
- `sla_clocks_outcomes` dropped: the reports find clocks by stop time
  (`sla_clocks_stopped`) and a room's clocks by room (`sla_clocks_room_kind`); no query
  used it, and every clock write paid for it.

Rooms that already have clocks get their `sla_state` from their rows.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla path"

FILL_STATE = (
    # the columns in app/sla/store.py NewClock's order (tests/test_sla.py checks that this
    # gives the copy the message path writes)
    "UPDATE conversations c SET sla_state = k.state"
    " FROM (SELECT conversation_id, json_agg(json_build_array(policy_id, kind, status,"
    "   started_at, due_at, stopped_at, warned_at, target_seconds, elapsed_seconds,"
    "   resumed_at, warn_at, done_at, cycle) ORDER BY kind)::text AS state"
    "   FROM sla_clocks GROUP BY conversation_id) k"
    " WHERE c.id = k.conversation_id"
)
"""Rooms that have clocks: their copy, from their rows."""

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations ADD COLUMN sla_state text NULL",
        FILL_STATE,
        "DROP INDEX IF EXISTS sla_clocks_due",
        "DROP INDEX IF EXISTS sla_clocks_warn",
        "DROP INDEX IF EXISTS sla_clocks_outcomes",
        # least() skips nulls: the due time, or the warning time if it comes first and
        # has not been given
        "CREATE INDEX sla_clocks_next ON sla_clocks"
        " (least(due_at, CASE WHEN warned_at IS NULL THEN warn_at END), id)"
        " WHERE status = 'running'",
    ],
)

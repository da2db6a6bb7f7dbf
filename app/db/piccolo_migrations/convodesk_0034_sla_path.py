"""SLA clocks on the message path: the room carries its clocks, and fewer indexes to write.

- `conversations.sla_state`: the room's clocks as the fold left them (JSON text: an array
  per kind of the columns of its `sla_clocks` row that the fold reads, in a fixed order).
  The message path reads the room, locked, anyway: a message that moves a clock no
  longer reads `sla_clocks` first. Written in the same statement as the rows it mirrors;
  text, not jsonb, since nothing queries inside it and text costs nothing to write and
  read back.
- `conversations.sla_next_at`: when the worker must next look at the room (the earliest
  due time of its running clocks, or warning time of those not yet warned), with its
  index `conversations_sla_next`: the worker's scan, instead of `sla_clocks_due` and
  `sla_clocks_warn`. The room's row is written by every message anyway (and is in many
  indexes already); a clock's row now is in no index a running clock's move changes, so
  pausing and resuming it is a HOT update (`fillfactor` leaves room on its page).
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

FILL_NEXT = (
    # least() and min() skip nulls: the due time, or the warning time until it is given
    # (app/sla/store.py next_at)
    "UPDATE conversations c SET sla_next_at = k.next"
    " FROM (SELECT conversation_id,"
    "   min(least(due_at, CASE WHEN warned_at IS NULL THEN warn_at END)) AS next"
    "   FROM sla_clocks WHERE status = 'running' GROUP BY conversation_id) k"
    " WHERE c.id = k.conversation_id"
)
"""Rooms with a running clock: when the worker must next look at them."""

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations ADD COLUMN sla_state text NULL",
        FILL_STATE,
        "ALTER TABLE conversations ADD COLUMN sla_next_at timestamptz NULL",
        FILL_NEXT,
        "CREATE INDEX conversations_sla_next ON conversations (sla_next_at, id)"
        " WHERE sla_next_at IS NOT NULL AND tm_delete IS NULL",
        "DROP INDEX IF EXISTS sla_clocks_due",
        "DROP INDEX IF EXISTS sla_clocks_warn",
        "DROP INDEX IF EXISTS sla_clocks_outcomes",
        # room on each page for a clock's next version: an update that changes no indexed
        # column (a resolution clock paused and resumed) stays on its page, HOT
        "ALTER TABLE sla_clocks SET (fillfactor = 80)",
    ],
)

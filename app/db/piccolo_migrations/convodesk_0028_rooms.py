"""Snooze and merge.

- `conversations.tm_snoozed`: snoozed since; null unless snoozed. The desk's open views
  leave such rooms out and its "Snoozed" view lists them.
- `conversations.snoozed_until`: when the snooze ends by itself (null: no time, e.g.
  "until the customer replies"); `snooze_until_reply`: the snooze was asked to end with
  the customer's next message (any inbound message ends every snooze).
- `conversations.merged_into`: the room this one was merged into (it is closed).
- `conversations_snooze_due`: the snooze worker's scan, one range over every customer's
  timed snoozes; `conversations_snoozed`: the desk's Snoozed view, latest first.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "snooze and merge"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations"
        " ADD COLUMN tm_snoozed timestamptz NULL,"
        " ADD COLUMN snoozed_until timestamptz NULL,"
        " ADD COLUMN snooze_until_reply boolean NOT NULL DEFAULT false,"
        " ADD COLUMN merged_into uuid NULL",
        "CREATE INDEX conversations_snooze_due ON conversations (snoozed_until)"
        " WHERE snoozed_until IS NOT NULL AND tm_delete IS NULL",
        "CREATE INDEX conversations_snoozed ON conversations (customer_id, tm_activity DESC)"
        " WHERE tm_snoozed IS NOT NULL AND tm_delete IS NULL",
    ],
)

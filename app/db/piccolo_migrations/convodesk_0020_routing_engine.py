"""The routing engine's columns and indexes.

- `conversations.tm_awaiting_reply`: when routing gave the room to its assignee, while that
  assignee has not replied since (null otherwise). The reassign-after timer finds the
  overdue ones with one range scan per team that has a timer, not a scan of every
  assigned room and its messages.
- `conversations_queue_order`: a team's queue in serving order (priority rank, then
  waiting time), so the head is the first index entry. The expression is the one
  app/conversations/store.py QUEUE_RANK writes; they must stay equal for the planner to
  use it.
- `conversations_team_priority`: the list of rooms sorted by priority
  (`GET /v1.0/conversations?sort=priority`), newest first within a priority.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-01T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "routing engine: awaiting reply, queue order"

RANK = (
    "(CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2"
    " WHEN 'low' THEN 3 WHEN 'none' THEN 4 ELSE 5 END)"
)

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations ADD COLUMN tm_awaiting_reply timestamptz NULL",
        "CREATE INDEX conversations_awaiting_reply ON conversations (team_id, tm_awaiting_reply)"
        " WHERE tm_awaiting_reply IS NOT NULL AND tm_delete IS NULL",
        f"CREATE INDEX conversations_queue_order ON conversations (team_id, {RANK}, tm_queued, id)"
        " WHERE tm_queued IS NOT NULL AND tm_delete IS NULL",
        f"CREATE INDEX conversations_priority ON conversations (customer_id, {RANK},"
        " tm_create DESC, id DESC) WHERE tm_delete IS NULL",
    ],
)

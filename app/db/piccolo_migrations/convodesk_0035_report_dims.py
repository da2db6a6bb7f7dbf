"""Reports: the customer's message counts kept per team, assignee and channel as well.

- `report_volume.dimension` ('' the whole customer, `team`, `owner`, `channel`) and
  `dimension_key` (the team's id, the assignee's id, the channel's name): a report filtered
  by one of them reads its counts (tens of thousands of rows a year) instead of the slots
  of its rooms. Which counts each dimension keeps: app/reports/volume.py `KEPT`. A message
  counts for the team, assignee and channel its room has when the event stream is folded,
  seconds after the message. The key and time indexes lead with the dimension.
- `report_room_counts`: each room's share of those counts, per quarter hour, agent and
  the team, assignee and channel it was counted under; written by the fold, read when the
  room is deleted, to take its messages back out of the counts they are in.
- `conversations_report_team`, `conversations_report_channel`: a team's or a channel's
  rooms that count, their ids in the index, so that the clocks and answers of a filtered
  report meet them from an index-only scan rather than a pass over every room.

What is stored is counted again: the shares from the rooms' slots, under the team,
assignee and channel each room has now, the counts from the shares (as
`volume.recount_all` does), and every customer's cursor moves to its last event.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "report dimensions"

NOBODY = "00000000-0000-0000-0000-000000000000"

_KEPT = (
    "(VALUES ('', 'q', false), ('', 'q', true), ('', 'd', false), ('', 'd', true),"
    " ('team', 'q', false), ('team', 'q', true), ('team', 'd', true),"
    " ('channel', 'q', false), ('channel', 'q', true), ('channel', 'd', true),"
    " ('owner', 'q', false)) k(dimension, span, by_agent)"
)

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "DELETE FROM report_volume",
        "ALTER TABLE report_volume"
        " ADD COLUMN dimension varchar(8) NOT NULL DEFAULT '',"
        " ADD COLUMN dimension_key varchar(64) NOT NULL DEFAULT ''",
        "DROP INDEX report_volume_key",
        "DROP INDEX report_volume_time",
        "CREATE UNIQUE INDEX report_volume_key ON report_volume"
        " (customer_id, dimension, dimension_key, span, agent_id, start)",
        "CREATE INDEX report_volume_time ON report_volume"
        " (customer_id, dimension, dimension_key, span, start)",
        "CREATE TABLE report_room_counts ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " slot timestamptz NOT NULL,"
        " agent_id uuid NOT NULL,"
        " team_id uuid NULL,"
        " owner_id uuid NULL,"
        " channel varchar(16) NULL,"
        " inbound integer NOT NULL DEFAULT 0,"
        " replies integer NOT NULL DEFAULT 0)",
        "CREATE UNIQUE INDEX report_room_counts_key ON report_room_counts"
        " (conversation_id, slot, agent_id, team_id, owner_id, channel) NULLS NOT DISTINCT",
        "CREATE INDEX report_room_counts_customer ON report_room_counts (customer_id)",
        "CREATE INDEX conversations_report_team ON conversations (customer_id, team_id)"
        " INCLUDE (id) WHERE tm_delete IS NULL AND merged_into IS NULL",
        "CREATE INDEX conversations_report_channel ON conversations"
        " (customer_id, reference_type) INCLUDE (id) WHERE tm_delete IS NULL AND merged_into IS NULL",
        # --- what is already stored ---
        "INSERT INTO report_room_counts (customer_id, conversation_id, slot, agent_id, team_id,"
        " owner_id, channel, inbound, replies)"
        " SELECT s.customer_id, s.conversation_id, s.slot, s.agent_id, c.team_id, c.owner_id,"
        " c.reference_type, s.inbound, s.replies FROM report_slots s JOIN conversations c"
        " ON c.id = s.conversation_id AND c.tm_delete IS NULL AND c.merged_into IS NULL",
        "INSERT INTO report_volume (customer_id, dimension, dimension_key, span, start,"
        " agent_id, inbound, replies)"
        " SELECT x.customer_id, k.dimension, d.key, k.span,"
        "   CASE k.span WHEN 'q' THEN x.slot"
        "   ELSE date_trunc('day', x.slot AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END,"
        f"  CASE WHEN k.by_agent THEN x.agent_id ELSE '{NOBODY}'::uuid END,"
        "   sum(CASE WHEN k.by_agent THEN 0 ELSE x.inbound END), sum(x.replies)"
        " FROM report_room_counts x"
        " CROSS JOIN LATERAL (VALUES ('', ''), ('team', x.team_id::text),"
        "   ('owner', x.owner_id::text), ('channel', x.channel)) d(dimension, key)"
        f" JOIN {_KEPT} ON k.dimension = d.dimension"
        f" WHERE d.key IS NOT NULL AND (NOT k.by_agent OR x.agent_id <> '{NOBODY}')"
        " GROUP BY 1, 2, 3, 4, 5, 6",
        "INSERT INTO report_cursors (customer_id, event_id)"
        " SELECT c.id, coalesce((SELECT max(e.id) FROM events e WHERE e.customer_id = c.id), 0)"
        " FROM customers c ON CONFLICT (customer_id) DO UPDATE"
        " SET event_id = excluded.event_id, tm_update = now()",
    ],
)

"""Reports: the facts they read, kept current where the change is written.

- `conversations.tm_first_inbound`: the customer's first message in the room;
  `tm_first_reply` and `first_reply_agent_id`: the first reply an agent sent after it
  (the first response); `tm_closed`: when the room was last closed (null while open).
  Written by the same statements that record a message or change a room's status.
- `report_slots`: per room, quarter of an hour and agent, the customer's messages
  (`inbound`, under the nil agent id) and the agent's replies (`replies`); one upsert per
  message, in the message's statement. Quarter hours, so that the busiest-hours map and day
  boundaries are exact in every time zone (some are 30 or 45 minutes off the hour).
- `report_volume`: the same counts for the whole customer, per quarter hour (`span` q)
  and per UTC day (`span` d), the customer's messages and all replies under the nil
  agent, each agent's replies under that agent; folded from the event stream by a worker
  (app/reports/volume.py) up to `report_cursors.event_id`, so unfiltered reports over a
  year read tens of thousands of rows, not a million.
- `conversations_closed`: rooms by close time (closed per day, resolution times);
  `conversations_gone`: the few rooms reports leave out (deleted, merged away);
  `report_slots_customer`: a customer's slots by time (filtered heat maps);
  `sla_clocks_stopped`: clocks by the time they were met or breached.

Rooms already stored get their facts from their messages and events (the same rules
`app/reports/scratch.py` applies to check them).
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports"

NOBODY = "00000000-0000-0000-0000-000000000000"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations"
        " ADD COLUMN tm_first_inbound timestamptz NULL,"
        " ADD COLUMN tm_first_reply timestamptz NULL,"
        " ADD COLUMN first_reply_agent_id uuid NULL,"
        " ADD COLUMN tm_closed timestamptz NULL",
        "CREATE TABLE report_slots ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " slot timestamptz NOT NULL,"
        f" agent_id uuid NOT NULL DEFAULT '{NOBODY}',"
        " inbound integer NOT NULL DEFAULT 0,"
        " replies integer NOT NULL DEFAULT 0)",
        "CREATE UNIQUE INDEX report_slots_room ON report_slots (conversation_id, slot, agent_id)",
        "CREATE INDEX report_slots_customer ON report_slots (customer_id, slot)",
        "CREATE INDEX conversations_closed ON conversations (customer_id, tm_closed)"
        " WHERE tm_closed IS NOT NULL AND tm_delete IS NULL",
        "CREATE INDEX sla_clocks_stopped ON sla_clocks (customer_id, stopped_at)"
        " WHERE stopped_at IS NOT NULL",
        "CREATE INDEX conversations_gone ON conversations (customer_id, id)"
        " WHERE tm_delete IS NOT NULL OR merged_into IS NOT NULL",
        "CREATE TABLE report_volume ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " span varchar(1) NOT NULL,"
        " start timestamptz NOT NULL,"
        " agent_id uuid NOT NULL,"
        " inbound integer NOT NULL DEFAULT 0,"
        " replies integer NOT NULL DEFAULT 0)",
        "CREATE UNIQUE INDEX report_volume_key ON report_volume"
        " (customer_id, span, agent_id, start)",
        "CREATE INDEX report_volume_time ON report_volume (customer_id, span, start)",
        "CREATE TABLE report_cursors ("
        " customer_id uuid PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,"
        " event_id bigint NOT NULL DEFAULT 0,"
        " tm_update timestamptz NOT NULL DEFAULT now())",
        # --- what is already stored ---
        "UPDATE conversations c SET tm_first_inbound = f.first"
        " FROM (SELECT conversation_id, min(tm_create) AS first FROM messages"
        "   WHERE direction = 'inbound' GROUP BY conversation_id) f"
        " WHERE c.id = f.conversation_id",
        "UPDATE conversations c SET tm_first_reply = r.tm_create, first_reply_agent_id = r.agent_id"
        " FROM (SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.tm_create, m.agent_id"
        "   FROM messages m JOIN conversations o ON o.id = m.conversation_id"
        "   WHERE m.direction = 'outbound' AND m.agent_id IS NOT NULL"
        "     AND m.status NOT IN ('scheduled', 'canceled')"
        "     AND o.tm_first_inbound IS NOT NULL AND m.tm_create >= o.tm_first_inbound"
        "   ORDER BY m.conversation_id, m.tm_create, m.id) r"
        " WHERE c.id = r.conversation_id",
        "UPDATE conversations SET tm_closed = tm_update WHERE status = 'closed'",
        "UPDATE conversations c SET tm_closed = e.closed"
        " FROM (SELECT DISTINCT ON (payload->>'id') (payload->>'id')::uuid AS room,"
        "   ((payload->>'tm_update') || '+00')::timestamptz AS closed"
        "   FROM events WHERE type = 'conversation_closed'"
        "   ORDER BY payload->>'id', id DESC) e"
        " WHERE c.id = e.room AND c.status = 'closed'",
        "INSERT INTO report_slots (customer_id, conversation_id, slot, agent_id, inbound, replies)"
        " SELECT customer_id, conversation_id,"
        "   to_timestamp(floor(extract(epoch FROM tm_create) / 900) * 900),"
        f"   coalesce(CASE WHEN direction = 'outbound' THEN agent_id END, '{NOBODY}'),"
        "   count(*) FILTER (WHERE direction = 'inbound'),"
        "   count(*) FILTER (WHERE direction = 'outbound')"
        " FROM messages"
        " WHERE direction = 'inbound' OR (agent_id IS NOT NULL"
        "   AND status NOT IN ('scheduled', 'canceled'))"
        " GROUP BY 1, 2, 3, 4",
        "INSERT INTO report_volume (customer_id, span, start, agent_id, inbound, replies)"
        " SELECT s.customer_id, k.span, CASE k.span WHEN 'q' THEN s.slot"
        "   ELSE date_trunc('day', s.slot AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' END,"
        f"   CASE WHEN k.everyone THEN '{NOBODY}'::uuid ELSE s.agent_id END,"
        "   sum(CASE WHEN k.everyone THEN s.inbound ELSE 0 END), sum(s.replies)"
        " FROM report_slots s JOIN conversations c ON c.id = s.conversation_id"
        " AND c.tm_delete IS NULL,"
        " (VALUES ('q', true), ('q', false), ('d', true), ('d', false)) k(span, everyone)"
        f" WHERE k.everyone OR s.agent_id <> '{NOBODY}'"
        " GROUP BY 1, 2, 3, 4",
        "INSERT INTO report_cursors (customer_id, event_id)"
        " SELECT c.id, coalesce((SELECT max(e.id) FROM events e WHERE e.customer_id = c.id), 0)"
        " FROM customers c",
    ],
)

"""SLA clocks that can be kept current on the message path and explained afterwards.

- `conversations.sla_turn`: who the room waits for: `customer` after a customer message
  (we owe a reply), `agent` after an agent's reply (the customer owes one); null before
  either. Written by the message's own `UPDATE`, so a message that changes no clock costs
  nothing more.
- `conversations.sla_policy_id`, `sla_policy_tm`: the policy the room's clocks follow and
  the version of it (and of its calendar) they were last computed with.
- `conversations.sla_kind`, `sla_status`, `sla_due_at`: the room's most pressing clock
  (the inbox's badge, its "breaching soon" order and its filter, the room resource's
  `sla`), with the index that orders rooms by it.
- `sla_clocks`: what a clock needs to move on without re-reading the room's history:
  its `target_seconds`, the business seconds counted so far (`elapsed_seconds`, up to
  `resumed_at` while it runs), its `warn_at` (the worker's warning time), `done_at` (the
  reply or the close that ended its wait, met or late) and which `cycle` it is (a room
  has a next-response clock per customer message that follows a reply).
- `sla_facts`: the room changes a clock depends on besides its messages (closed,
  reopened, snoozed, woke, the policy that applies): with the messages, the history a
  clock is recomputed from.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sla clocks"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "ALTER TABLE conversations"
        " ADD COLUMN sla_turn varchar(8) NULL,"
        " ADD COLUMN sla_policy_id uuid NULL,"
        " ADD COLUMN sla_policy_tm timestamptz NULL,"
        " ADD COLUMN sla_kind varchar(16) NULL,"
        " ADD COLUMN sla_status varchar(16) NULL,"
        " ADD COLUMN sla_due_at timestamptz NULL",
        # rooms that existed before: whose turn it is, from their last counted message
        "UPDATE conversations c SET sla_turn = ("
        " SELECT CASE WHEN m.direction = 'inbound' THEN 'customer' ELSE 'agent' END"
        " FROM messages m WHERE m.conversation_id = c.id"
        " AND (m.direction = 'inbound' OR (m.agent_id IS NOT NULL"
        " AND m.status NOT IN ('scheduled', 'canceled')))"
        " ORDER BY m.tm_create DESC LIMIT 1)",
        "CREATE INDEX conversations_sla_due ON conversations (customer_id, sla_due_at, id)"
        " WHERE sla_due_at IS NOT NULL AND tm_delete IS NULL",
        "ALTER TABLE sla_clocks"
        " ADD COLUMN target_seconds integer NOT NULL DEFAULT 0,"
        " ADD COLUMN elapsed_seconds double precision NOT NULL DEFAULT 0,"
        " ADD COLUMN resumed_at timestamptz NULL,"
        " ADD COLUMN warn_at timestamptz NULL,"
        " ADD COLUMN done_at timestamptz NULL,"
        " ADD COLUMN cycle integer NOT NULL DEFAULT 1",
        # the worker's other scan: running clocks whose warning has not been given
        "CREATE INDEX sla_clocks_warn ON sla_clocks (warn_at)"
        " WHERE status = 'running' AND warned_at IS NULL",
        "CREATE TABLE sla_facts ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " at timestamptz NOT NULL,"
        " kind varchar(16) NOT NULL,"
        " detail jsonb NOT NULL DEFAULT jsonb_build_object())",
        "CREATE INDEX sla_facts_room ON sla_facts (conversation_id, at, id)",
        "CREATE INDEX sla_policies_live ON sla_policies (customer_id) WHERE tm_delete IS NULL",
    ],
)

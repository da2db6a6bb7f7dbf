"""Service levels: the tables the business hours, SLA clocks, CSAT surveys and reports share.

- `business_hours`: a calendar (IANA time zone, weekly `periods` [{day 0=Monday..6, start
  "HH:MM", end "HH:MM"}], `holidays` [{date "YYYY-MM-DD", yearly, name}]). A team uses one
  (`teams.business_hours_id`), or the whole customer (`customers.business_hours_id`).
- `sla_policies`: targets in business minutes (null: no target of that kind), for a
  priority and a team (null: any).
- `sla_clocks`: one row per room and kind (`first_response`, `next_response`,
  `resolution`) of the policy that applies to it: its `status` (`running`, `paused`,
  `met`, `breached`), when it is due, and when it ended (`stopped_at`: met or breached).
  The reports read outcomes from here; the clock's intervals are recomputed from the
  room's stored events.
- `csat_responses`: a customer's rating (1-5) of a closed room, at most one per room.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service levels"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE business_hours ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " name varchar(255) NOT NULL DEFAULT '',"
        " time_zone varchar(64) NOT NULL DEFAULT 'UTC',"
        " periods jsonb NOT NULL DEFAULT '[]',"
        " holidays jsonb NOT NULL DEFAULT '[]',"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX business_hours_list ON business_hours"
        " (customer_id, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
        "ALTER TABLE teams ADD COLUMN business_hours_id uuid NULL",
        "ALTER TABLE customers ADD COLUMN business_hours_id uuid NULL",
        "CREATE TABLE sla_policies ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " name varchar(255) NOT NULL DEFAULT '',"
        " priority varchar(16) NULL,"
        " team_id uuid NULL,"
        " business_hours_id uuid NULL,"
        " first_response_minutes integer NULL,"
        " next_response_minutes integer NULL,"
        " resolution_minutes integer NULL,"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX sla_policies_list ON sla_policies"
        " (customer_id, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
        "CREATE TABLE sla_clocks ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " policy_id uuid NOT NULL REFERENCES sla_policies (id) ON DELETE CASCADE,"
        " kind varchar(16) NOT NULL,"
        " status varchar(16) NOT NULL DEFAULT 'running',"
        " started_at timestamptz NOT NULL DEFAULT now(),"
        " due_at timestamptz NULL,"
        " stopped_at timestamptz NULL,"
        " warned_at timestamptz NULL,"
        " tm_update timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX sla_clocks_room_kind ON sla_clocks (conversation_id, kind)",
        # the worker's scan: running clocks by due time, every customer at once
        "CREATE INDEX sla_clocks_due ON sla_clocks (due_at) WHERE status = 'running'",
        "CREATE INDEX sla_clocks_outcomes ON sla_clocks (customer_id, policy_id, stopped_at)",
        "CREATE TABLE csat_responses ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " contact_id uuid NULL REFERENCES contacts (id) ON DELETE SET NULL,"
        " agent_id uuid NULL,"
        " reference_type varchar(16) NOT NULL,"
        " rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),"
        " comment text NOT NULL DEFAULT '',"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX csat_responses_room ON csat_responses (conversation_id)",
        "CREATE INDEX csat_responses_list ON csat_responses"
        " (customer_id, tm_create DESC, id DESC)",
    ],
)

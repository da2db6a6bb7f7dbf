"""Teams, availability and routing; the audit log.

- `teams`, `team_members`, `team_accounts`: a team's people and the channel accounts
  whose new rooms it receives (an account routes to at most one team).
- `agents`: `availability` (online|away|offline) replaces the old presence-like `status`,
  which now says whether the agent may sign in at all (active|deactivated);
  `max_open` (null = the team's), `default_availability`, `auto_offline` (the agent went
  offline by itself and comes back online on return) and `tm_seen` (last desk sign of life).
- `conversations`: `team_id`, `priority`, `assignment_reason`, `tm_queued` (waiting in the
  team's queue since; null unless waiting), `tm_assigned` (for reassign-after).
- `audit_log`: who did what to which thing, with before/after.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-01T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "teams, routing and the audit log"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE teams ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " name varchar(255) NOT NULL DEFAULT '',"
        " detail text NOT NULL DEFAULT '',"
        " assignment_policy varchar(16) NOT NULL DEFAULT 'manual',"
        " max_open integer NOT NULL DEFAULT 5,"
        " reassign_after integer NOT NULL DEFAULT 0,"
        " rr_last_agent_id uuid NULL,"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX teams_list ON teams (customer_id, tm_create DESC, id DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE TABLE team_members ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
        " agent_id uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX team_members_one ON team_members (team_id, agent_id)",
        "CREATE INDEX team_members_agent ON team_members (agent_id)",
        "CREATE TABLE team_accounts ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,"
        " account_id uuid NOT NULL REFERENCES channel_accounts (id) ON DELETE CASCADE,"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX team_accounts_one ON team_accounts (account_id)",
        "CREATE INDEX team_accounts_team ON team_accounts (team_id)",
        "ALTER TABLE agents"
        " ADD COLUMN availability varchar(16) NOT NULL DEFAULT 'offline',"
        " ADD COLUMN default_availability varchar(16) NOT NULL DEFAULT 'online',"
        " ADD COLUMN auto_offline boolean NOT NULL DEFAULT false,"
        " ADD COLUMN max_open integer NULL,"
        " ADD COLUMN tm_seen timestamptz NULL",
        "UPDATE agents SET availability = CASE status WHEN 'available' THEN 'online'"
        " WHEN 'offline' THEN 'offline' ELSE 'away' END",
        "UPDATE agents SET status = 'active'",
        "ALTER TABLE agents ALTER COLUMN status SET DEFAULT 'active'",
        "ALTER TABLE conversations"
        " ADD COLUMN team_id uuid NULL REFERENCES teams (id) ON DELETE SET NULL,"
        " ADD COLUMN priority varchar(8) NOT NULL DEFAULT 'none',"
        " ADD COLUMN assignment_reason text NOT NULL DEFAULT '',"
        " ADD COLUMN tm_queued timestamptz NULL,"
        " ADD COLUMN tm_assigned timestamptz NULL",
        # an agent's open rooms (capacity), and a team's queue
        "CREATE INDEX conversations_open_owner ON conversations (owner_id)"
        " WHERE owner_id IS NOT NULL AND status <> 'closed' AND tm_delete IS NULL",
        "CREATE INDEX conversations_queue ON conversations (team_id, tm_queued)"
        " WHERE tm_queued IS NOT NULL AND tm_delete IS NULL",
        "CREATE INDEX conversations_team ON conversations (customer_id, team_id, tm_activity DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE TABLE audit_log ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " actor_type varchar(16) NOT NULL,"
        " actor_id uuid NULL,"
        " action varchar(64) NOT NULL,"
        " target_type varchar(32) NOT NULL,"
        " target_id text NOT NULL DEFAULT '',"
        " before jsonb NOT NULL DEFAULT jsonb_build_object(),"
        " after jsonb NOT NULL DEFAULT jsonb_build_object(),"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE INDEX audit_log_list ON audit_log (customer_id, id DESC)",
    ],
)

"""Automation: rules, macros, their runs, and the time triggers' record.

- `automation_rules`: a customer's rules, run in `position` order; the event path reads
  the live, active ones of a trigger (`automation_rules_live`).
- `macros`: named action lists, shared (`owner_id` null) or an agent's own.
- `automation_runs`: each execution (a rule that matched, or a macro applied): what the
  conditions found and what each action did. Kept when the rule is deleted (soft).
- `automation_timers`: a time rule's record for one room's turn (`anchor`, when the turn
  began): when it is due in business time (`due_at`), and when it fired. Its unique index
  (`automation_timers_turn`) is what makes a time rule fire once per turn, even with
  several workers: the worker that inserts (or first marks) the row runs the actions, in
  the same transaction.
- `conversations.tm_turn`: when the room's current turn (`sla_turn`: waiting on an agent
  or on the customer) began; the time triggers count from it. Rooms that already had a
  turn take their last message's time.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "automation"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE automation_rules ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " name text NOT NULL,"
        " active boolean NOT NULL DEFAULT false,"
        " trigger varchar(32) NOT NULL,"
        " trigger_minutes integer NULL,"
        " match varchar(8) NOT NULL DEFAULT 'all',"
        " conditions jsonb NOT NULL DEFAULT '[]',"
        " actions jsonb NOT NULL DEFAULT '[]',"
        " position integer NOT NULL DEFAULT 0,"
        " stop_processing boolean NOT NULL DEFAULT false,"
        " tm_create timestamptz NOT NULL,"
        " tm_update timestamptz NOT NULL,"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX automation_rules_live ON automation_rules"
        " (customer_id, trigger, position, tm_create) WHERE active AND tm_delete IS NULL",
        "CREATE INDEX automation_rules_list ON automation_rules (customer_id, tm_create DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE TABLE macros ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " owner_id uuid NULL REFERENCES agents (id) ON DELETE CASCADE,"
        " name text NOT NULL,"
        " actions jsonb NOT NULL DEFAULT '[]',"
        " tm_create timestamptz NOT NULL,"
        " tm_update timestamptz NOT NULL,"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX macros_list ON macros (customer_id, tm_create DESC) WHERE tm_delete IS NULL",
        "CREATE TABLE automation_runs ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " rule_id uuid NULL,"
        " macro_id uuid NULL,"
        " agent_id uuid NULL,"
        " conversation_id uuid NOT NULL,"
        " trigger varchar(32) NOT NULL,"
        " depth smallint NOT NULL DEFAULT 0,"
        " status varchar(16) NOT NULL,"
        " conditions jsonb NOT NULL DEFAULT '[]',"
        " actions jsonb NOT NULL DEFAULT '[]',"
        " tm_create timestamptz NOT NULL)",
        "CREATE INDEX automation_runs_rule ON automation_runs (rule_id, tm_create DESC)"
        " WHERE rule_id IS NOT NULL",
        "CREATE INDEX automation_runs_room ON automation_runs (conversation_id, tm_create DESC)",
        "CREATE TABLE automation_timers ("
        " id bigserial PRIMARY KEY,"
        " rule_id uuid NOT NULL REFERENCES automation_rules (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " anchor timestamptz NOT NULL,"
        " due_at timestamptz NOT NULL,"
        " fired_at timestamptz NULL)",
        "CREATE UNIQUE INDEX automation_timers_turn ON automation_timers"
        " (rule_id, conversation_id, anchor)",
        "ALTER TABLE conversations ADD COLUMN tm_turn timestamptz NULL",
        "UPDATE conversations SET tm_turn = tm_last_message WHERE sla_turn IS NOT NULL",
        "CREATE INDEX conversations_turn ON conversations (customer_id, sla_turn, tm_turn)"
        " WHERE tm_delete IS NULL AND status <> 'closed' AND tm_snoozed IS NULL"
        " AND sla_turn IS NOT NULL",
    ],
)

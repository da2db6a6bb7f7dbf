"""Canned replies and signatures.

- `canned_responses`: a reply an agent inserts by its shortcut; `owner_id` null = shared
  (admins manage those). A shortcut is unique within its scope (the agent's own, or the
  shared ones), case-insensitively, among live rows.
- `agents.signature`: the text appended to the agent's replies on accounts whose
  `signature` setting is `below`.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-02T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "canned replies and signatures"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE canned_responses ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " owner_id uuid NULL REFERENCES agents (id) ON DELETE CASCADE,"
        " name varchar(255) NOT NULL DEFAULT '',"
        " shortcut varchar(64) NOT NULL,"
        " text text NOT NULL DEFAULT '',"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        # one live shortcut per scope: the shared scope is "no owner", which a plain unique
        # index would not compare (NULLs are distinct), hence two partial indexes
        "CREATE UNIQUE INDEX canned_responses_shortcut_personal"
        " ON canned_responses (owner_id, shortcut) WHERE tm_delete IS NULL AND owner_id IS NOT NULL",
        "CREATE UNIQUE INDEX canned_responses_shortcut_shared"
        " ON canned_responses (customer_id, shortcut) WHERE tm_delete IS NULL AND owner_id IS NULL",
        # the composer's lookup as you type: the first shortcuts of a prefix, in order, for
        # each scope. In the "C" collation one btree serves both the prefix (LIKE 'th%')
        # and the order, so a one-letter prefix over thousands of replies reads 10 entries
        "CREATE INDEX canned_responses_personal_prefix ON canned_responses"
        ' (owner_id, (shortcut COLLATE "C")) WHERE tm_delete IS NULL AND owner_id IS NOT NULL',
        "CREATE INDEX canned_responses_shared_prefix ON canned_responses"
        ' (customer_id, (shortcut COLLATE "C")) WHERE tm_delete IS NULL AND owner_id IS NULL',
        "CREATE INDEX canned_responses_personal_name ON canned_responses"
        ' (owner_id, (lower(name) COLLATE "C")) WHERE tm_delete IS NULL AND owner_id IS NOT NULL',
        "CREATE INDEX canned_responses_shared_name ON canned_responses"
        ' (customer_id, (lower(name) COLLATE "C")) WHERE tm_delete IS NULL AND owner_id IS NULL',
        # lists, newest first
        "CREATE INDEX canned_responses_list ON canned_responses"
        " (customer_id, tm_create DESC, id DESC) WHERE tm_delete IS NULL",
        "ALTER TABLE agents ADD COLUMN signature text NOT NULL DEFAULT ''",
    ],
)

"""Satisfaction surveys (CSAT).

- `csat_surveys`: the one survey a closed room may get (a unique index on the room: at
  most one per room, ever). It goes to the participant who wrote last, over the channel
  account that message came by, once `due_at` (the close plus the account's `csat_delay`)
  has come: `status` `scheduled`, then `sent` (with `sent_at`, and the question's
  `message_id` on channels that carry it as a message), `answered`, or `canceled` (the
  room was open again when it was due; a later close schedules it again) or `skipped`
  (nobody left to ask: the account or the participant is gone). `agent_id` is the room's
  assignee at the close, which the response keeps.
- `conversations.csat`: the room's rating (1-5) once answered, so the room resource
  carries it without a query of its own.
- `csat_surveys_due`: the survey worker's scan, one range over every customer's scheduled
  surveys. `csat_surveys_awaiting`: the inbound path's lookup of a survey sent to an
  address (a digit reply over SMS, LINE or WhatsApp), as small as the surveys not yet
  answered.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-03T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "csat surveys"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE csat_surveys ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,"
        " account_id uuid NOT NULL,"
        " participant_id uuid NOT NULL,"
        " target_type varchar(16) NOT NULL,"
        " target text NOT NULL,"
        " contact_id uuid NULL,"
        " agent_id uuid NULL,"
        " reference_type varchar(16) NOT NULL DEFAULT '',"
        " question text NOT NULL DEFAULT '',"
        " status varchar(16) NOT NULL DEFAULT 'scheduled',"
        " due_at timestamptz NOT NULL,"
        " sent_at timestamptz NULL,"
        " message_id uuid NULL,"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX csat_surveys_room ON csat_surveys (conversation_id)",
        "CREATE INDEX csat_surveys_due ON csat_surveys (due_at) WHERE status = 'scheduled'",
        "CREATE INDEX csat_surveys_awaiting ON csat_surveys"
        " (customer_id, target_type, target, sent_at DESC) WHERE status = 'sent'",
        "ALTER TABLE conversations ADD COLUMN csat smallint NULL",
    ],
)

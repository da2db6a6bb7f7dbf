"""Contacts and tags.

- `contacts`: a person, in VoIPBIN's contact shape; soft-deleted (`tm_delete`).
- `contact_addresses`: where a contact is reached, `(type, target)` normalised as a
  participant's is. Unique per customer: an address names one person, and the inbound
  path finds the contact through this index (one lookup per new participant). Addresses
  of a deleted contact are deleted with it, so the address is free again.
- `contact_words`: what the search matches, lower-cased (each name word, whole names,
  addresses), in the C collation so a plain btree answers "starts with" (`LIKE 'ab%'`)
  and walks the matches in order: the embedded PostgreSQL has no pg_trgm.
- `tags`, `contact_tags`: tags as resources (name unique per customer, any case).
- `participants.contact_id`: the contact a room's participant is.
"""

from app.db.raw_migration import sql_migration

ID = "2026-12-02T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contacts and tags"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE TABLE contacts ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " first_name varchar(255) NOT NULL DEFAULT '',"
        " last_name varchar(255) NOT NULL DEFAULT '',"
        " display_name varchar(255) NOT NULL DEFAULT '',"
        " company varchar(255) NOT NULL DEFAULT '',"
        " job_title varchar(255) NOT NULL DEFAULT '',"
        " source varchar(16) NOT NULL DEFAULT 'api',"
        " external_id varchar(255) NOT NULL DEFAULT '',"
        " notes text NOT NULL DEFAULT '',"
        " attributes jsonb NOT NULL DEFAULT jsonb_build_object(),"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        "CREATE INDEX contacts_list ON contacts (customer_id, tm_create DESC, id DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE TABLE contact_addresses ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,"
        " type varchar(16) NOT NULL,"
        " target text NOT NULL,"
        " name varchar(255) NOT NULL DEFAULT '',"
        " detail text NOT NULL DEFAULT '',"
        " is_primary boolean NOT NULL DEFAULT false,"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX contact_addresses_one ON contact_addresses"
        " (customer_id, type, target)",
        "CREATE INDEX contact_addresses_contact ON contact_addresses (contact_id, tm_create)",
        "CREATE TABLE contact_words ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,"
        ' word text COLLATE "C" NOT NULL)',
        "CREATE INDEX contact_words_search ON contact_words (customer_id, word, contact_id)",
        "CREATE UNIQUE INDEX contact_words_one ON contact_words (contact_id, word)",
        "CREATE TABLE tags ("
        " id uuid PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " name varchar(64) NOT NULL,"
        " detail text NOT NULL DEFAULT '',"
        " tm_create timestamptz NOT NULL DEFAULT now(),"
        " tm_update timestamptz NOT NULL DEFAULT now(),"
        " tm_delete timestamptz NULL)",
        "CREATE UNIQUE INDEX tags_name ON tags (customer_id, lower(name)) WHERE tm_delete IS NULL",
        "CREATE INDEX tags_list ON tags (customer_id, tm_create DESC, id DESC)"
        " WHERE tm_delete IS NULL",
        "CREATE TABLE contact_tags ("
        " id bigserial PRIMARY KEY,"
        " customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,"
        " contact_id uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,"
        " tag_id uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,"
        " tm_create timestamptz NOT NULL DEFAULT now())",
        "CREATE UNIQUE INDEX contact_tags_one ON contact_tags (contact_id, tag_id)",
        "CREATE INDEX contact_tags_tag ON contact_tags (tag_id)",
        "ALTER TABLE participants"
        " ADD COLUMN contact_id uuid NULL REFERENCES contacts (id) ON DELETE SET NULL",
        "CREATE INDEX participants_contact ON participants (contact_id, conversation_id)"
        " WHERE contact_id IS NOT NULL",
    ],
)

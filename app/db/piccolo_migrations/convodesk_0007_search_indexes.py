"""Trigram indexes for searching rooms by name and people by address or name, when the
server has the `pg_trgm` extension (PostgreSQL's contrib; the embedded server does not
ship it, and searching still works there, by scanning)."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T03:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search indexes (pg_trgm, when available)"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            BEGIN
              CREATE EXTENSION IF NOT EXISTS pg_trgm;
            EXCEPTION WHEN insufficient_privilege THEN
              RAISE NOTICE 'pg_trgm not installed (no privilege): search works, unindexed';
              RETURN;
            END;
            CREATE INDEX IF NOT EXISTS participants_search ON participants
              USING gin (target gin_trgm_ops, name gin_trgm_ops, target_name gin_trgm_ops);
            CREATE INDEX IF NOT EXISTS conversations_search ON conversations
              USING gin (name gin_trgm_ops, reference_id gin_trgm_ops);
          END IF;
        END
        $$;
        """
    ],
)

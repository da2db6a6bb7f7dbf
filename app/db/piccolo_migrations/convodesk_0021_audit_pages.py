"""The audit log's pages: newest first by `tm_create`, like every other list (the page
token is a time), with the id as the tie-break. 0019's index orders by id only."""

from app.db.raw_migration import sql_migration

ID = "2026-12-01T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log pages"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE INDEX audit_log_pages ON audit_log (customer_id, tm_create DESC, id DESC)",
    ],
)

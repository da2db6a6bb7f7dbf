"""The webhook outbox's indexes: one delivery per event (the dispatcher may meet an event
twice after a crash), the due rows the dispatcher claims, the delivery log's lists, and a
delivery's attempts."""

from app.db.raw_migration import sql_migration

ID = "2026-11-21T04:31:48:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook delivery indexes"

forwards = sql_migration(
    ID,
    DESCRIPTION,
    [
        "CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries"
        " (customer_id, event_id)",
        # the dispatcher takes each endpoint's due deliveries, and counts its leased ones
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (customer_id, next_try_at)"
        " WHERE status = 'pending'",
        "CREATE INDEX webhook_deliveries_sending ON webhook_deliveries (customer_id, lease_until)"
        " WHERE status = 'sending'",
        "CREATE INDEX webhook_deliveries_log ON webhook_deliveries"
        " (customer_id, tm_create DESC, id DESC)",
        "CREATE INDEX webhook_deliveries_log_status ON webhook_deliveries"
        " (customer_id, status, tm_create DESC, id DESC)",
        "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
    ],
)

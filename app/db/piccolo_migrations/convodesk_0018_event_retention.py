"""customers.events_pruned_through: the last event id of the customer that retention has
pruned, so that a reader resuming from before it is told to start afresh instead of
silently missing events. (Pruning walks each customer's events by the existing
`events_customer_id` index.)"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event retention watermark"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="convodesk", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Customer",
        tablename="customers",
        column_name="events_pruned_through",
        db_column_name="events_pruned_through",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager

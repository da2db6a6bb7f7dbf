"""login_failures.address: each failed sign-in also records the client address it came
from, so one address trying many usernames is throttled too (indexed for that count)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T11:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "login failures by client address"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="convodesk", description=DESCRIPTION)

    manager.add_column(
        table_class_name="LoginFailure",
        tablename="login_failures",
        column_name="address",
        db_column_name="address",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 255,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager

"""Migrations that are plain SQL: the indexes and constraints Piccolo's columns cannot say
(partial, multi-column, expression and GIN indexes)."""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table


class _Raw(Table):
    """Only a handle for raw SQL, which runs in the migration's transaction."""


def sql_migration(migration_id: str, description: str, statements: list[str]):
    """A Piccolo `forwards` coroutine function that runs `statements` in order."""

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name="convodesk", description=description
        )

        async def run() -> None:
            for statement in statements:
                await _Raw.raw(statement)

        manager.add_raw(run)
        return manager

    return forwards

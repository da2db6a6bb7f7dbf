"""Apply Piccolo migrations under a PostgreSQL advisory lock.

Piccolo has no lock of its own, so two processes starting at once (two `serve`, or
`serve --workers N`) would both try to create the same tables. The lock is held on a
separate connection for as long as the migrations run; the second process waits, then
finds nothing left to do.
"""

from __future__ import annotations

import contextlib
import io

import asyncpg

_MIGRATION_LOCK = 0x0C0DE5_0001


class MigrationError(Exception):
    pass


async def migrate(database_url: str, *, quiet: bool = False) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    lock_conn = await asyncpg.connect(database_url)
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        # Piccolo narrates on stdout; keep it out of commands whose output is data (JSON).
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            result = await run_forwards("convodesk", migration_id="all")
        if not result.success:
            raise MigrationError(f"migrations failed: {result.message}\n{chatter.getvalue()}")
        if not quiet:
            ran = [line.strip() for line in chatter.getvalue().splitlines() if "[forwards]" in line]
            for line in ran:
                print(f"  applied {line.lstrip('- ')}", flush=True)
    finally:
        try:
            await lock_conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        finally:
            await lock_conn.close()

"""`convodesk` with the event writers' per-customer lock removed: the "no ordering lock at
all" row of `bench/sms_inbound.py --what-if`, the same statements minus the lock, so the
lock's cost is measured in one run.

    .venv/bin/python bench/whatif.py serve --port 8000      (one worker process only)

Never for real use: without the writers' lock, a reader's horizon (core.events) no longer
waits for transactions that hold drawn ids, and readers could pass an event that commits
late. The product is `convodesk`; this only patches it in the benchmark's server process.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from app.core import events  # noqa: E402

LOCK = "pg_advisory_xact_lock_shared"


class _WithoutTheLock:
    """The transaction's connection, skipping the one statement that takes the lock."""

    def __init__(self, conn) -> None:
        self._conn = conn

    async def execute(self, query: str, *args):
        if LOCK in query:
            return "SELECT 0"
        return await self._conn.execute(query, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


_connection = events.connection


def _connection_without_the_lock():
    return _WithoutTheLock(_connection())


events.connection = _connection_without_the_lock  # type: ignore[assignment]

if __name__ == "__main__":
    from app.cli import main

    sys.argv[0] = "convodesk"
    raise SystemExit(main())

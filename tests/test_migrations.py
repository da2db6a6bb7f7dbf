"""Migrations: from an empty database, again as a no-op, and from two processes at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
from conftest import ROOT, cli_env, create_database, run_cli

from app.db.tables import ALL_TABLES  # noqa: E402

TABLES = {t._meta.tablename for t in ALL_TABLES} | {"migration"}
MIGRATIONS = len(list((ROOT / "app" / "db" / "piccolo_migrations").glob("convodesk_*.py")))


async def _schema(url: str) -> tuple[set[str], set[str], int]:
    conn = await asyncpg.connect(url)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        indexes = {
            r["indexname"]
            for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname='public'")
        }
        applied = await conn.fetchval("SELECT count(*) FROM migration") if tables else 0
        return tables, indexes, applied
    finally:
        await conn.close()


def test_migrate_on_an_empty_database_then_again_is_a_no_op():
    url = create_database("convodesk_mig")
    assert asyncio.run(_schema(url))[0] == set()
    first = run_cli("migrate", env=cli_env(DATABASE_URL=url))
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    tables, indexes, applied = asyncio.run(_schema(url))
    assert tables == TABLES
    assert {"agents_username_live", "events_customer_id"} <= indexes
    second = run_cli("migrate", env=cli_env(DATABASE_URL=url))
    assert second.returncode == 0, second.stderr
    assert "applied" not in second.stdout
    assert "up to date" in second.stdout
    assert asyncio.run(_schema(url)) == (tables, indexes, applied)


def test_two_processes_migrating_at_once_both_succeed():
    url = create_database("convodesk_race")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app", "migrate"],
            cwd=ROOT,
            env=cli_env(DATABASE_URL=url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    for _, err, code in results:
        assert code == 0, err
    # exactly one of them applied the migrations
    assert sum("applied" in out for out, _, _ in results) == 1
    tables, _, applied = asyncio.run(_schema(url))
    assert tables == TABLES
    assert applied == MIGRATIONS


def test_piccolo_command_applies_the_same_migrations():
    url = create_database("convodesk_piccolo")
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "piccolo") if (ROOT / ".venv").exists() else "piccolo",
            "migrations",
            "forwards",
            "all",
        ],
        cwd=ROOT,
        env=cli_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert asyncio.run(_schema(url))[0] == TABLES

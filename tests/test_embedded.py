"""With no DATABASE_URL, Convodesk runs its own PostgreSQL and keeps its data between runs.
This is the README's first command, as a new user runs it."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import httpx
import psutil
from conftest import ServerProcess, cli_env, run_cli


def test_serve_without_database_url_boots_an_embedded_postgres_and_keeps_its_data():
    data_dir = Path(tempfile.mkdtemp(prefix="convodesk-embedded-"))
    env = cli_env(DATABASE_URL=None, CONVODESK_SECRET_KEY=None, CONVODESK_DATA_DIR=str(data_dir))
    try:
        srv = ServerProcess(env, command="demo").wait_ready(timeout=120)
        try:
            out = srv.output()
            assert "Starting the embedded PostgreSQL" in out
            assert httpx.get(srv.url + "/healthz").json() == {"status": "ok", "database": "ok"}
            username, password = re.findall(r"Log in as '([^']+)' / '([^']+)'", out)[0]
            login = httpx.post(
                srv.url + "/auth/login", json={"username": username, "password": password}
            )
            assert login.status_code == 200
            token = login.json()["token"]
            agents = httpx.get(srv.url + "/v1.0/agents", params={"token": token})
            assert agents.status_code == 200
            assert len(agents.json()["result"]) == 2
        finally:
            srv.stop()
        # the embedded server stops with the last process that used it
        assert not _postgres_running(data_dir)
        assert (data_dir / "pg" / "PG_VERSION").exists()
        assert (data_dir / "secret_key").stat().st_mode & 0o077 == 0

        # A CLI command on the same data directory sees the same database ...
        made = run_cli(
            "customer",
            "create",
            "--name",
            "Later",
            "--username",
            "later-admin",
            "--password",
            "later-pass",
            env=env,
        )
        assert made.returncode == 0, made.stderr
        assert "customer_id" in json.loads(made.stdout)

        # ... and a second start reuses the data and the signing key: the old token still
        # works, and so does the customer made in between.
        srv = ServerProcess(env).wait_ready(timeout=120)
        try:
            assert httpx.get(srv.url + "/v1.0/agents", params={"token": token}).status_code == 200
            r = httpx.post(
                srv.url + "/auth/login",
                json={"username": "later-admin", "password": "later-pass"},
            )
            assert r.status_code == 200
        finally:
            srv.stop()
        assert not _postgres_running(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _postgres_running(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["cmdline"]):
        if str(data_dir) in " ".join(proc.info["cmdline"] or []):
            return True
    return False
